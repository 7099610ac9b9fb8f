"""Fraud screening: right after validation, before any payment is captured."""

from __future__ import annotations

from oms.actors import Actor
from oms.caches import ProcessCache
from orders.fraud.models import FraudDecision, FraudSettings
from orders.fraud.rules import RULES, Hit, facts
from orders.models import Hold, Order
from orders.services.cancel import order_cancel
from orders.services.holds import hold_place


def _fraud_settings(merchant_id: int) -> FraudSettings:
    return FraudSettings.objects.filter(merchant_id=merchant_id).first() or FraudSettings(merchant_id=merchant_id)


# Per process: read on every capture, changed rarely (oms.caches).
_FRAUD_SETTINGS = ProcessCache("orders.fraud_settings", _fraud_settings, invalidated_by=(FraudSettings,))


def fraud_settings_for(merchant_id: int) -> FraudSettings:
    return _FRAUD_SETTINGS.get(merchant_id)


def order_fraud_screen(*, order: Order, actor: Actor) -> FraudDecision | None:
    """Score the order; above the review threshold hold it for a CSR, above the reject
    threshold cancel it (cancellation voids the authorization or refunds the charge)."""
    settings = fraud_settings_for(order.merchant_id)
    if not settings.enabled:
        return None
    found = facts(order, settings)  # the one query of the screening
    hits: list[Hit] = [hit for rule in RULES for hit in rule(order, settings, found)]
    score = sum(hit.score for hit in hits)
    if score > settings.reject_threshold:
        outcome = FraudDecision.Outcome.REJECT
    elif score > settings.review_threshold:
        outcome = FraudDecision.Outcome.REVIEW
    else:
        outcome = FraudDecision.Outcome.APPROVE
    decision = FraudDecision.objects.create(
        order=order,
        score=score,
        outcome=outcome,
        rules=[hit.as_dict() for hit in hits],
        review_threshold=settings.review_threshold,
        reject_threshold=settings.reject_threshold,
    )
    summary = "; ".join(f"{hit.reason} (+{hit.score})" for hit in hits)
    if outcome == FraudDecision.Outcome.REVIEW:
        hold_place(
            order=order,
            type=Hold.Type.FRAUD,
            reason=f"Fraud score {score} is above the review threshold {settings.review_threshold}: {summary}",
            actor=actor,
            details={"decision": decision.pk, "score": score, "rules": decision.rules},
        )
    elif outcome == FraudDecision.Outcome.REJECT:
        order_cancel(
            order=order,
            actor=actor,
            reason=f"Rejected by fraud screening (score {score} above {settings.reject_threshold}): {summary}",
        )
    return decision
