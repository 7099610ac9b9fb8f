"""What each event's payload holds: one builder per kind of subject, used by every emitter.

Webhook receivers and the e-mail templates read these shapes, so they are part of the API
(docs/NOTIFICATIONS.md). `oms.events.PAYLOADS` names the builder of each catalogued type.

`oms` sits below the apps and imports none of their models: a builder reads its subject's
attributes, and a figure only an app can compute (a stock row's ATP, a refund's rounding) is
passed in by the emitter.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

Payload = dict[str, Any]


def order_payload(order: Any, **extra: Any) -> Payload:
    """The order (webhooks and e-mails read this); `extra` says what the event adds."""
    return {
        "number": order.number,
        "external_id": order.external_id,
        "channel": order.channel.code,
        "status": order.status,
        "currency": order.currency,
        "total": str(order.total),
        "email": order.email,
        **extra,
    }


def payment_payload(payment: Any, order: Any, **extra: Any) -> Payload:
    return {
        "number": order.number,
        "external_id": order.external_id,
        "payment": payment.pk,
        "gateway": payment.gateway,
        "transaction_type": payment.transaction_type,
        "status": payment.status,
        "currency": payment.currency,
        "amount": str(payment.amount),
        "captured_amount": str(payment.captured_amount),
        "refunded_amount": str(payment.refunded_amount),
        **extra,
    }


def refund_payload(refund: Any, order: Any) -> Payload:
    return {
        "number": order.number,
        "refund": refund.pk,
        "amount": str(refund.amount),
        "tax_amount": str(refund.tax_amount),
        "currency": refund.currency,
        "reason": refund.reason,
        "lines": refund.lines,
        "source": refund.source,
    }


def exception_payload(exc: Any) -> Payload:
    """An operational exception (webhooks' `exception` object adds when it opened and closed)."""
    return {
        "id": exc.pk,
        "type": exc.type,
        "severity": exc.severity,
        "status": exc.status,
        "subject": {"type": exc.subject_type, "id": exc.subject_id, "label": exc.subject_label},
        "message": exc.message,
        "order": exc.order_number or None,
        "resolve_due_at": exc.resolve_due_at.isoformat() if exc.resolve_due_at else None,
    }


def fulfillment_order_payload(fo: Any, **extra: Any) -> Payload:
    """A fulfilment order; `node` is what the node-message consumer routes by."""
    return {"id": fo.pk, "order": fo.order.number, "node": fo.node.code, "status": fo.status, **extra}


def shipment_payload(shipment: Any, **extra: Any) -> Payload:
    """A shipment with its items; carrier milestones add where and when (`extra`)."""
    return {
        "id": shipment.pk,
        "order": shipment.order.number,
        "fulfillment_order": shipment.fulfillment_order_id,
        "carrier": shipment.carrier.code,
        "service": shipment.service.code,
        "tracking_number": shipment.tracking_number,
        "status": shipment.status,
        "estimated_delivery": shipment.estimated_delivery.isoformat() if shipment.estimated_delivery else None,
        "lines": [{"sku": line.order_line.sku, "quantity": line.quantity} for line in shipment.lines.all()],
        "label_url": reverse("shipment-label-pdf", args=[shipment.pk]),
        **extra,
    }


def stock_level_payload(stock: Any, *, atp: int) -> Payload:
    """A SKU's stock at a node (also the `stock_level` object webhooks carry)."""
    return {
        "sku": stock.product.sku,
        "node": stock.node.code,
        "on_hand": stock.on_hand,
        "allocated": stock.allocated,
        "safety_stock": stock.safety_stock,
        "atp": atp,
        "reorder_threshold": stock.reorder_threshold,
    }


def received_payload(node: Any, *, kind: str, reference: Any, items: list[tuple[Any, int, int]]) -> Payload:
    """Units that became available at a node: `items` are (stock row, quantity, its ATP now)."""
    return {
        "node": node.code,
        "node_id": node.pk,
        "kind": kind,
        "reference": {"type": reference.type, "id": reference.id} if reference else None,
        "items": [
            {"sku": stock.product.sku, "product_id": stock.product_id, "quantity": quantity,
             "on_hand": stock.on_hand, "allocated": stock.allocated, "atp": atp}
            for stock, quantity, atp in items
        ],
    }  # fmt: skip


def shortfall_payload(stock: Any, *, cause: str, references: list[dict[str, Any]]) -> Payload:
    """Reserved units a node lost; `references` are the reservations released ({type, id, quantity})."""
    return {
        "sku": stock.product.sku,
        "node": stock.node.code,
        "product_id": stock.product_id,
        "node_id": stock.node_id,
        "shortage": sum(ref["quantity"] for ref in references),
        "cause": cause,
        "references": references,
    }


def availability_payload(sku: str, *, atp: int, safe_to_promise: dict[str, int]) -> Payload:
    """A SKU's availability across nodes, and what each active channel may promise of it."""
    return {"sku": sku, "atp": atp, "safe_to_promise": safe_to_promise}


def return_payload(rma: Any, **extra: Any) -> Payload:
    """The return (e-mails read `return`, webhooks the whole body); `extra` goes in `return`."""
    lines = [
        {"line": line.order_line_id, "sku": line.order_line.sku, "quantity": line.quantity, "reason": line.reason.code}
        for line in rma.lines.all()
    ]
    return {
        "order_number": rma.order.number,
        "return": {
            "id": rma.pk,
            "number": rma.number,
            "status": rma.status,
            "method": rma.method,
            "node": rma.node.code,
            "tracking_number": rma.tracking_number,
            "lines": lines,
            **extra,
        },
    }


def exchange_payload(rma: Any, exchange: Any) -> Payload:
    return {
        "order_number": rma.order.number,
        "return": rma.number,
        "replacement_order": exchange.replacement_order.number,
        "returned_value": str(exchange.returned_value),
        "replacement_value": str(exchange.replacement_value),
        "difference": str(exchange.difference),
        "advance": exchange.advance,
    }


def claim_payload(claim: Any, *, amount: Any, refund: Any = None, replacement: Any = None) -> Payload:
    """An approved claim; `amount` rounded to the order's currency by the returns app."""
    return {
        "order_number": claim.order.number, "claim": claim.pk, "kind": claim.kind, "resolution": claim.resolution,
        "reason": claim.reason, "lines": claim.lines, "amount": str(amount), "currency": claim.order.currency,
        "refund": refund.pk if refund else None, "replacement_order": replacement.number if replacement else None,
    }  # fmt: skip


def appeasement_payload(appeasement: Any, *, amount: Any, refund: Any) -> Payload:
    order = appeasement.order
    return {
        "order_number": order.number, "appeasement": appeasement.pk, "amount": str(amount),
        "currency": order.currency, "reason": appeasement.reason, "refund": refund.pk,
    }  # fmt: skip
