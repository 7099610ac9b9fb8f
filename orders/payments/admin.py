"""Admin for payments, fraud and tax (imported by orders/admin.py).

Payment pages show the gateway calls; capture, void and refund buttons are Finance's (the
`orders.change_payment` permission); retrying a capture or recording a new token resolves a
payment hold and is a CSR's action too (`orders.change_hold`). The order page gains sections
for gateway calls, refunds and the fraud breakdown. Rate tables, thresholds and deny lists
are edited here.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template import engines
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from oms.actors import Actor
from oms.admin import ReadOnlyAdmin, RecordAdmin
from oms.errors import DomainError
from oms.forms import RefusesCardNumbers
from orders.admin import ORDER_PAGE_SECTIONS, _table, money
from orders.admin_workspace import money_column
from orders.fraud.models import DenyListEntry, FraudDecision, FraudSettings
from orders.models import Order, Payment
from orders.payments.models import MerchantPaymentSettings, PaymentTransaction, Refund, SandboxLedgerEntry
from orders.payments.services import (
    payment_capture,
    payment_increase_declined,
    payment_retry,
    payment_void,
    refund_issue,
)
from orders.services.amend_lines import order_increase_withdraw
from orders.tax.models import TaxRate, TaxSettings

FINANCE_PERMISSION = "orders.change_payment"
CSR_PERMISSION = "orders.change_hold"

_FORM_PAGE = """{% extends "admin/base_site.html" %}
{% block content %}<div id="content-main">
<p>{{ intro }}</p>
<form method="post">{% csrf_token %}{{ form.as_p }}<input type="submit" class="default" value="{{ title }}"></form>
<p><a href="{{ back }}">Back</a></p></div>{% endblock %}"""


@lru_cache(maxsize=1)
def _form_page() -> Any:
    return engines["django"].from_string(_FORM_PAGE)


class AmountForm(forms.Form):
    amount = forms.DecimalField(max_digits=12, decimal_places=3, min_value=Decimal("0.001"), required=False)


class RefundForm(RefusesCardNumbers, forms.Form):
    amount = forms.DecimalField(max_digits=12, decimal_places=3, min_value=Decimal("0.001"))
    reason = forms.CharField(max_length=500)
    # One token per rendered form: a double click (or a resubmitted page) is one refund.
    form_token = forms.CharField(
        widget=forms.HiddenInput, initial=lambda: secrets.token_hex(16), max_length=40, required=False
    )


class TokenForm(RefusesCardNumbers, forms.Form):
    token = forms.CharField(max_length=255, help_text="The gateway token of the customer's new payment.")


class NoteForm(RefusesCardNumbers, forms.Form):
    pass


class ReasonForm(RefusesCardNumbers, forms.Form):
    reason = forms.CharField(max_length=500, help_text="Why (shown on the order's timeline).")


def _transactions(payments: list[Payment]) -> SafeString:
    rows = [
        (p.pk, f"{t.created_at:%Y-%m-%d %H:%M:%S}", t.kind, t.source, money(t.amount, t.currency), t.outcome,
         t.attempt, t.decline_code or "", t.gateway_reference,
         "" if t.duration_ms is None else f"{t.duration_ms} ms", t.idempotency_key)
        for p in payments for t in p.transactions.all()
    ]  # fmt: skip
    return _table(
        ["payment", "when", "call", "source", "amount", "outcome", "attempt", "decline", "gateway ref", "took", "key"],
        rows,
    )


def order_payments_section(order: Order) -> SafeString:
    payments = list(order.payments.prefetch_related("transactions"))
    links = format_html_join(
        " ",
        '<a class="button" href="{}">Payment {} ({}, {} captured, {} refunded)</a>',
        (
            (
                reverse("admin:orders_payment_change", args=[p.pk]),
                p.pk,
                p.status,
                money(p.captured_amount, p.currency),
                money(p.refunded_amount, p.currency),
            )
            for p in payments
        ),
    )
    return format_html("<p>{}</p>{}", links, _transactions(payments))


def order_refunds_section(order: Order) -> SafeString:
    rows = [
        (r.pk, f"{r.created_at:%Y-%m-%d %H:%M}", money(r.amount, r.currency), money(r.tax_amount, r.currency),
         r.reason, r.status, r.created_by)
        for r in Refund.objects.filter(order=order)
    ]  # fmt: skip
    return _table(["refund", "when", "amount", "tax", "reason", "status", "by"], rows)


def order_fraud_section(order: Order) -> SafeString:
    decision = FraudDecision.objects.filter(order=order).first()
    if decision is None:
        return format_html("<p>{}</p>", "Not screened.")
    head = format_html(
        "<p><strong>{}</strong>: score {} (review above {}, reject above {})</p>",
        decision.get_outcome_display(),
        decision.score,
        decision.review_threshold,
        decision.reject_threshold,
    )
    rows = [(hit["rule"].replace("_", " "), f"+{hit['score']}", hit["reason"]) for hit in decision.rules]
    return format_html("{}{}", head, _table(["rule", "score", "why"], rows))


ORDER_PAGE_SECTIONS += [
    ("Payments: gateway calls", order_payments_section),
    ("Refunds", order_refunds_section),
    ("Fraud screening", order_fraud_section),
]


class TransactionInline(admin.TabularInline):
    model = PaymentTransaction
    fk_name = "payment"
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "source", "amount", "outcome", "attempt", "decline_code", "message",
              "gateway_reference", "duration_ms", "idempotency_key", "next_attempt_at"]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


PaymentAction = Callable[[Payment, Actor, dict[str, Any]], str]


@admin.register(Payment)
class PaymentAdmin(RecordAdmin):
    list_display = ["pk", "order", "gateway", "transaction_type", "status", "amount_display", "captured_display",
                    "refunded_display", "authorization_expires_at"]  # fmt: skip
    list_filter = ["status", "gateway", "transaction_type", "order__merchant"]
    search_fields = ["=order__number"]
    list_select_related = ["order"]
    inlines = [TransactionInline]
    fields = ["order", "gateway", "transaction_type", "status", "amount", "currency", "authorized_amount",
              "captured_amount", "refunded_amount", "refund_pending_amount", "voided_amount",
              "authorization_expires_at"]  # fmt: skip

    amount_display = money_column("amount", "amount")
    captured_display = money_column("captured_amount", "captured")
    refunded_display = money_column("refunded_amount", "refunded")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Buttons only for those allowed: Finance's money buttons, the CSR's hold resolution.
        extra = [
            name
            for name, permission in (("finance_actions", FINANCE_PERMISSION), ("csr_actions", CSR_PERMISSION))
            if request.user.has_perm(permission)
        ]
        return [*self.fields, *extra]

    def _buttons(self, payment: Payment, permission: str) -> SafeString:
        return format_html_join(
            " ",
            '<a class="button" href="{}">{}</a>',
            (
                (reverse(f"admin:orders_payment_{name}", args=[payment.pk]), label)
                for name, (label, needed, _form, _run) in self.ACTIONS.items()
                if needed == permission and (name != "withdraw_increase" or payment_increase_declined(payment))
            ),
        )

    @admin.display(description="Finance")
    def finance_actions(self, payment: Payment) -> SafeString:
        return self._buttons(payment, FINANCE_PERMISSION)

    @admin.display(description="Payment hold")
    def csr_actions(self, payment: Payment) -> SafeString:
        return self._buttons(payment, CSR_PERMISSION)

    # Each action: (button label, permission, form, run(payment, actor, data) -> message).
    ACTIONS: dict[str, tuple[str, str, type[forms.Form], PaymentAction]] = {}

    def get_urls(self) -> list[Any]:
        extra = [
            path(
                f"<path:object_id>/{name.replace('_', '-')}/",
                self.admin_site.admin_view(self._action_view(name)),
                name=f"orders_payment_{name}",
            )
            for name in self.ACTIONS
        ]
        return [*extra, *super().get_urls()]

    def _action_view(self, name: str) -> Callable[..., HttpResponse]:
        label, permission, form_class, run = self.ACTIONS[name]

        def view(request: HttpRequest, object_id: str) -> HttpResponse:
            payment = get_object_or_404(Payment.objects.select_related("order"), pk=object_id)
            back = reverse("admin:orders_payment_change", args=[payment.pk])
            # Buttons on the order page (a payment hold's banner) come back to it.
            if request.POST.get("next") == reverse("admin:orders_order_change", args=[payment.order_id]):
                back = request.POST["next"]
            if not request.user.has_perm(permission):
                self.message_user(request, f"{label} is not allowed for your group.", level=messages.ERROR)
                return HttpResponseRedirect(back)
            form = form_class(request.POST or None)
            if request.method == "POST" and form.is_valid():
                try:
                    summary = run(payment, Actor.user(request.user), form.cleaned_data)
                except DomainError as exc:
                    self.message_user(request, exc.message, level=messages.ERROR)
                else:
                    self.log_change(request, payment, summary)
                    self.log_change(request, payment.order, f"Payment {payment.pk}: {summary}")
                    self.message_user(request, summary, level=messages.SUCCESS)
                return HttpResponseRedirect(back)
            context = {
                **self.admin_site.each_context(request),
                "title": f"{label} — payment {payment.pk} of order {payment.order.number}",
                "intro": f"{payment.status}: {money(payment.captured_amount, payment.currency)} captured of "
                f"{money(payment.authorized_amount, payment.currency)} authorized, "
                f"{money(payment.refunded_amount, payment.currency)} refunded.",
                "form": form,
                "back": back,
            }
            return HttpResponse(_form_page().render(context, request=request))

        return view


def _outcome(txn: PaymentTransaction | None) -> str:
    return txn.outcome if txn is not None else "nothing left to capture"


def _capture(payment: Payment, actor: Actor, data: dict[str, Any]) -> str:
    return f"Capture: {_outcome(payment_capture(payment=payment, actor=actor, amount=data.get('amount') or None))}"


def _void(payment: Payment, actor: Actor, data: dict[str, Any]) -> str:
    return f"Void: {payment_void(payment=payment, actor=actor).outcome}"


def _refund(payment: Payment, actor: Actor, data: dict[str, Any]) -> str:
    refund = refund_issue(
        order=payment.order, amount=data["amount"], reason=data["reason"], actor=actor,
        source=f"admin:{data['form_token']}" if data.get("form_token") else "",
    )  # fmt: skip
    return f"Refund of {money(refund.amount, refund.currency)}: {refund.status}"


def _retried(txn: PaymentTransaction | None) -> str:
    """What a retry did: the capture, or an amendment increase's authorization."""
    return f"{txn.kind}: {txn.outcome}" if txn is not None else "capture: nothing left to capture"


def _retry(payment: Payment, actor: Actor, data: dict[str, Any]) -> str:
    return f"Retried the {_retried(payment_retry(payment=payment, actor=actor))}"


def _new_token(payment: Payment, actor: Actor, data: dict[str, Any]) -> str:
    return f"New token; {_retried(payment_retry(payment=payment, actor=actor, token=data['token']))}"


def _withdraw_increase(payment: Payment, actor: Actor, data: dict[str, Any]) -> str:
    order_increase_withdraw(payment=payment, actor=actor, reason=data.get("reason", ""))
    return f"Increase of {money(payment.amount, payment.currency)} withdrawn: the added lines are cancelled"


PaymentAdmin.ACTIONS.update(
    capture=("Capture", FINANCE_PERMISSION, AmountForm, _capture),
    void=("Void", FINANCE_PERMISSION, NoteForm, _void),
    refund=("Refund", FINANCE_PERMISSION, RefundForm, _refund),
    retry=("Retry capture", CSR_PERMISSION, NoteForm, _retry),
    new_token=("Record new token", CSR_PERMISSION, TokenForm, _new_token),
    withdraw_increase=("Cancel the added lines", CSR_PERMISSION, ReasonForm, _withdraw_increase),
)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["pk", "order", "amount_display", "tax_display", "status", "reason", "created_by", "created_at"]
    list_filter = ["status", "order__merchant"]
    search_fields = ["=order__number"]

    amount_display = money_column("amount", "amount")
    tax_display = money_column("tax_amount", "tax")


@admin.register(SandboxLedgerEntry)
class SandboxLedgerAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "token", "amount", "currency", "approved", "decline_code", "reference"]
    list_filter = ["kind", "approved"]
    search_fields = ["=token", "=idempotency_key"]


@admin.register(FraudDecision)
class FraudDecisionAdmin(ReadOnlyAdmin):
    list_display = ["order", "outcome", "score", "created_at"]
    list_filter = ["outcome"]
    search_fields = ["=order__number"]


@admin.register(MerchantPaymentSettings)
class MerchantPaymentSettingsAdmin(admin.ModelAdmin):
    list_display = ["merchant", "capture_timing", "max_attempts", "reauthorize_hours_before"]


@admin.register(FraudSettings)
class FraudSettingsAdmin(admin.ModelAdmin):
    list_display = ["merchant", "enabled", "review_threshold", "reject_threshold"]


@admin.register(DenyListEntry)
class DenyListEntryAdmin(admin.ModelAdmin):
    list_display = ["merchant", "kind", "value", "note", "created_at"]
    list_filter = ["kind", "merchant"]
    search_fields = ["value"]


@admin.register(TaxSettings)
class TaxSettingsAdmin(admin.ModelAdmin):
    list_display = ["merchant", "check_declared_tax", "tolerance"]


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    list_display = ["merchant", "name", "country", "region", "postal_prefix", "tax_code", "rate", "shipping_taxable"]
    list_editable = ["rate", "shipping_taxable"]
    list_filter = ["merchant", "country", "region"]
    search_fields = ["name", "postal_prefix", "tax_code"]
