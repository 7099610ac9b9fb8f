"""The order workspace: what the order page shows (summary, banners, cards, timeline) and the
actions it offers, built for one user. The page itself is templates/admin/orders/order/workspace.html."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from oms.admin import admin_log_rows
from oms.models import OpsException
from oms.money import money_text
from orders.models import AMENDABLE, CAPTURABLE, Hold, Order, OrderEvent, PaymentStatus
from orders.payments.services import payment_increase_declined
from orders.services.cancel import LINE_CANCELLABLE
from orders.services.holds import MUST_FIX, hold_exception_type

# Sections other apps add to the order page from their admin.py (allocations, routing,
# shipments, e-mails, returns...): (title, render(order) -> HTML). Each becomes a card; titles in
# WIDE_SECTIONS span the page (tables with many columns).
ORDER_PAGE_SECTIONS: list[tuple[str, Callable[[Order], SafeString]]] = []
WIDE_SECTIONS = {"Payments: gateway calls", "Shipments and labels", "Routing", "Webhooks", "E-mails"}


def table(headers: list[str], rows: list[tuple[Any, ...]], *, id: str = "") -> SafeString:
    attr = format_html(' id="{}"', id) if id else ""
    if not rows:
        return format_html('<p class="oms-empty"{}>{}</p>', attr, "None.")
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((c,) for c in row)),) for row in rows)
    )
    return format_html(
        '<table class="oms-table"{}><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', attr, head, body
    )


money = money_text  # an amount at its currency's precision, with the code: "48.38 USD"


def money_column(field: str, description: str) -> Callable[[Any, Any], str]:
    """A changelist column showing a model's amount `field` with its `currency`."""

    @admin.display(description=description, ordering=field)
    def column(model_admin: Any, obj: Any) -> str:
        return money(getattr(obj, field), obj.currency)

    return column


def address_block(address: dict[str, Any] | None) -> SafeString:
    if not address:
        return format_html("{}", "—")
    lines = [
        f"{address.get('first_name', '')} {address.get('last_name', '')}".strip(),
        address.get("line1", ""),
        address.get("line2", ""),
        f"{address.get('city', '')} {address.get('region', '')} {address.get('postal_code', '')}".strip(),
        address.get("country", ""),
    ]
    return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines if line))


@dataclass
class Banner:
    kind: str
    type: str
    title: str
    reason: str
    detail: str = ""
    forms: list[dict[str, Any]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Card:
    slug: str
    title: str
    body: SafeString
    wide: bool = False


def _url(name: str, *args: Any) -> str:
    return reverse(f"admin:{name}", args=args)


def payment_state(order: Order) -> str:
    payments = list(order.payments.all())
    if not payments:
        return "no payment"
    authorized = sum((p.authorized_amount for p in payments), Decimal(0))
    captured = sum((p.captured_amount for p in payments), Decimal(0))
    refunded = sum((p.refunded_amount for p in payments), Decimal(0))
    parts = [f"{money(captured, order.currency)} captured of {money(authorized, order.currency)} authorized"]
    if refunded:
        parts.append(f"{money(refunded, order.currency)} refunded")
    failed = [p for p in payments if p.status in (PaymentStatus.FAILED, PaymentStatus.EXPIRED)]
    if failed:
        parts.append(f"{len(failed)} {failed[0].status}")
    return ", ".join(parts)


def summary(order: Order) -> list[tuple[str, Any]]:
    return [
        ("customer", order.customer_name or order.email),
        ("channel", order.channel.code),
        ("placed", f"{order.placed_at:%Y-%m-%d %H:%M}"),
        ("total", money(order.total, order.currency)),
        ("payment", payment_state(order)),
        ("promise", order.promise_date or "—"),
        ("delivery", f"{order.fulfillment_type}, {order.service_level}"),
    ]


def actions(request: HttpRequest, order: Order, can_change: bool) -> list[tuple[str, str]]:
    """Buttons for what the state machine allows now, and only for users who may press them."""
    if not can_change:
        return []
    found: list[tuple[str, str]] = []
    if order.status in AMENDABLE:
        found += [("Amend order…", _url("orders_order_amend", order.pk)),
                  ("Change lines…", _url("orders_order_change_lines", order.pk))]  # fmt: skip
    if order.status in LINE_CANCELLABLE and any(line.qty_open for line in order.lines.all()):
        found.append(("Cancel lines…", _url("orders_order_cancel_lines", order.pk)))
    note_holds = [h for h in order.holds.all() if h.is_open and h.type not in MUST_FIX]
    for transition in order.get_available_user_status_transitions(request.user):  # type: ignore[attr-defined]
        if not transition.custom.get("admin") or (transition.name == "resume" and not note_holds):
            continue
        found.append((transition.custom["label"] + "…", _url("orders_order_transition", order.pk, transition.name)))
    return found


def banners(request: HttpRequest, order: Order, can_change: bool) -> list[Banner]:
    """One banner per open hold (with what resolves it) and per other open exception."""
    exceptions = list(
        OpsException.objects.filter(
            subject_type="orders.order", subject_id=str(order.pk), status__in=OpsException.OPEN_STATUSES
        ).select_related("assignee")
    )
    by_type = {e.type: e for e in exceptions}
    found = []
    for hold in (h for h in order.holds.all() if h.is_open):
        exc = by_type.pop(hold_exception_type(hold.type), None)
        detail = f"Placed by {hold.created_by} at {hold.created_at:%Y-%m-%d %H:%M}."
        if exc is not None:
            detail += f" Exception {exc.status}" + (f", assigned to {exc.assignee}." if exc.assignee else ".")
        banner = Banner("hold", hold.type, f"{hold.get_type_display()} hold", hold.reason, detail)
        if can_change:
            _hold_fixes(request, order, hold, banner)
        found.append(banner)
    for exc in by_type.values():
        found.append(
            Banner(
                "exception",
                exc.type,
                f"Exception: {exc.type.replace('_', ' ')}",
                exc.message,
                links=[("Open the exception", _url("oms_opsexception_change", exc.pk))],
            )  # fmt: skip
        )
    return found


def _hold_fixes(request: HttpRequest, order: Order, hold: Hold, banner: Banner) -> None:
    if hold.type == Hold.Type.ADDRESS:
        banner.links.append(("Fix the address (amend)…", _url("orders_order_amend", order.pk)))
        override = hold.details.get("override")
        if override is None:
            banner.forms.append({"url": _url("orders_order_hold_override", order.pk, hold.pk),
                                 "label": "Ask a CSR lead to override",
                                 "inputs": [("reason", "why it can ship as is")]})  # fmt: skip
        else:
            banner.detail += f" Override asked by {override['requested_by']}: {override['reason']}"
            if request.user.has_perm("orders.approve_hold_override"):
                banner.forms.append({"url": _url("orders_order_hold_override", order.pk, hold.pk),
                                     "label": "Approve the override", "inputs": []})  # fmt: skip
    elif hold.type == Hold.Type.PAYMENT:
        payment = next((p for p in order.payments.all() if p.pk == hold.details.get("payment")), None)
        payment = payment or next(
            (p for p in order.payments.all() if p.status in (*CAPTURABLE, PaymentStatus.FAILED, PaymentStatus.EXPIRED)),
            None,
        )
        increase = payment is not None and payment_increase_declined(payment)
        if payment is not None and request.user.has_perm("orders.change_hold"):
            banner.forms += [
                {"url": _url("orders_payment_retry", payment.pk),
                 "label": "Retry the authorization" if increase else "Retry the payment", "inputs": []},
                {"url": _url("orders_payment_new_token", payment.pk), "label": "Record a new token",
                 "inputs": [("token", "gateway token from the customer")]},
            ]  # fmt: skip
            if increase:  # an amendment's increase: it can also be given up
                banner.forms.append({"url": _url("orders_payment_withdraw_increase", payment.pk),
                                     "label": "Cancel the added lines", "inputs": [("reason", "why")]})  # fmt: skip
        banner.links.append(("Cancel the order…", _url("orders_order_transition", order.pk, "cancel")))
    else:
        banner.forms.append({"url": _url("orders_order_hold_release", order.pk, hold.pk), "label": "Resolve",
                             "inputs": [("note", "what was done about it")]})  # fmt: skip


def lines_card(order: Order) -> SafeString:
    rows = [
        (line.sku, line.name, money(line.unit_price, order.currency), line.quantity, line.qty_cancelled,
         line.qty_allocated, line.qty_backordered, line.qty_shipped, line.qty_delivered, line.qty_returned,
         money(line.line_total, order.currency))
        for line in order.lines.all()
    ]  # fmt: skip
    headers = ["SKU", "name", "unit price", "ordered", "cancelled", "allocated", "backordered", "shipped",
               "delivered", "returned", "line total"]  # fmt: skip
    return table(headers, rows, id="order-lines")


def customer_card(order: Order) -> SafeString:
    return format_html(
        "<p><strong>{}</strong><br>{}<br>{}</p><table class='oms-table'><tr><th>ship to</th><th>bill to</th></tr>"
        "<tr><td>{}</td><td>{}</td></tr></table>",
        order.customer_name or "—", order.email, order.phone or "no phone",
        address_block(order.shipping_address), address_block(order.billing_address),
    )  # fmt: skip


def payments_card(request: HttpRequest, order: Order) -> SafeString:
    finance = request.user.has_perm("orders.change_payment")
    rows = []
    for p in order.payments.all():
        buttons = []
        if finance and p.capturable_amount > 0:
            buttons += [("Capture", "orders_payment_capture"), ("Void", "orders_payment_void")]
        if finance and p.refundable_amount > 0:
            buttons.append(("Refund", "orders_payment_refund"))
        if request.user.has_perm("orders.change_hold") and p.status in (PaymentStatus.FAILED, PaymentStatus.EXPIRED):
            buttons.append(("Retry", "orders_payment_retry"))
        links = format_html_join(
            " ", '<a class="button" href="{}">{}</a>', ((_url(n, p.pk), label) for label, n in buttons)
        )
        rows.append((format_html('<a href="{}">{}</a>', _url("orders_payment_change", p.pk), p.pk), p.gateway,
                     p.transaction_type, p.status, money(p.authorized_amount, p.currency),
                     money(p.captured_amount, p.currency), money(p.refunded_amount, p.currency), links))  # fmt: skip
    return table(["id", "gateway", "type", "status", "authorized", "captured", "refunded", ""], rows, id="payments")


def describe(event: OrderEvent, currency: str) -> SafeString:
    """What an event changed, in words: before -> after, amounts, lines."""
    payload = event.payload or {}
    parts: list[str] = []
    for name, (before, after) in (payload.get("changes") or {}).items():
        parts.append(f"{name}: {before or '—'} → {after or '—'}")
    if "amount" in payload:
        parts.append(money(payload["amount"], currency))
    parts += [f"{item['sku']} × {item['quantity']}" for item in payload.get("lines", []) if "sku" in item]
    if event.reason:
        parts.append(event.reason)
    return format_html_join(mark_safe("<br>"), "{}", ((p,) for p in parts))


def timeline_card(order: Order) -> SafeString:
    rows = [
        (f"{e.created_at:%Y-%m-%d %H:%M:%S}", e.name.replace("_", " "),
         f"{e.from_status or '—'} → {e.to_status}" if e.to_status else "", e.actor_label, describe(e, order.currency))
        for e in order.events.all()
    ]  # fmt: skip
    return table(["when", "what", "status", "who", "changes, amounts, why"], rows, id="timeline")


def cards(request: HttpRequest, order: Order) -> list[Card]:
    found = [
        Card("lines", "Lines", lines_card(order), wide=True),
        Card("customer", "Customer and addresses", customer_card(order)),
        Card("payments", "Payments", payments_card(request, order)),
    ]
    for title, render in ORDER_PAGE_SECTIONS:
        slug = title.lower().replace(" ", "-").replace(":", "")
        found.append(Card(slug, title, render(order), wide=title in WIDE_SECTIONS))
    found += [
        Card("timeline", "Timeline", timeline_card(order), wide=True),
        Card(
            "admin-log", "Changes made in the admin", table(["when", "who", "what"], admin_log_rows(order)), wide=True
        ),
    ]
    return found


def workspace(request: HttpRequest, order: Order, *, can_change: bool) -> dict[str, Any]:
    return {
        "summary": summary(order),
        "actions": actions(request, order, can_change),
        "banners": banners(request, order, can_change),
        "cards": cards(request, order),
    }
