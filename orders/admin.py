"""The order console: orders with their timeline and transition buttons, the holds queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django_fsm import TransitionNotAllowed
from django_fsm.admin import FSMAdminMixin

from oms.actors import Actor
from oms.admin import RecordAdmin
from oms.api.errors import flatten
from oms.errors import DomainError
from orders.admin_forms import AmendForm, CancelForm, PlaceHoldForm, ResolveHoldForm
from orders.api.inputs import OrderAmendIn
from orders.models import Customer, Hold, Order
from orders.services.amend import order_amend
from orders.services.cancel import order_cancel
from orders.services.holds import hold_place, hold_resolve

# Admin transition buttons run the same services as the API (never the bare FSM method).
# Each takes (order, actor, cleaned form data) and returns a line for the change log.
TransitionAction = Callable[[Order, Actor, dict[str, Any]], str]


def _cancel(order: Order, actor: Actor, data: dict[str, Any]) -> str:
    order_cancel(order=order, actor=actor, reason=data["reason"])
    return f"Cancelled: {data['reason']}"


def _place_hold(order: Order, actor: Actor, data: dict[str, Any]) -> str:
    hold_place(order=order, type=data["type"], reason=data["reason"], actor=actor)
    return f"Placed {data['type']} hold: {data['reason']}"


def _resolve_hold(order: Order, actor: Actor, data: dict[str, Any]) -> str:
    hold_resolve(hold=data["hold"], actor=actor, note=data["note"])
    return f"Resolved {data['hold'].type} hold: {data['note']}"


# Sections that later apps add to the order page from their own admin.py (e.g. allocations,
# routing decisions, shipments, e-mails): (title, render(order) -> HTML).
ORDER_PAGE_SECTIONS: list[tuple[str, Callable[[Order], SafeString]]] = []

TRANSITION_ACTIONS: dict[str, TransitionAction] = {
    "cancel": _cancel,
    "place_hold": _place_hold,
    "resume": _resolve_hold,
}


def _table(headers: list[str], rows: list[tuple[Any, ...]]) -> SafeString:
    if not rows:
        return format_html("<p>{}</p>", "None.")
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((c,) for c in row)),) for row in rows)
    )
    return format_html('<table class="oms-table"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', head, body)


class OpenHoldTypeFilter(admin.SimpleListFilter):
    title = "open hold"
    parameter_name = "hold"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("any", "Any open hold"), *Hold.Type.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> QuerySet[Order]:
        if not self.value():
            return queryset
        holds = Hold.objects.filter(order=OuterRef("pk"), resolved_at__isnull=True)
        if self.value() != "any":
            holds = holds.filter(type=self.value())
        return queryset.filter(Exists(holds))


@admin.register(Order)
class OrderAdmin(FSMAdminMixin, RecordAdmin):
    """Orders come from channels (the API), never typed in; they change through the services."""

    fsm_fields = ["status"]
    fsm_forms = {"cancel": CancelForm, "place_hold": PlaceHoldForm, "resume": ResolveHoldForm}
    list_display = [
        "number",
        "status",
        "merchant",
        "channel_code",
        "customer_display",
        "total_display",
        "open_holds",
        "placed_at",
    ]
    list_filter = [
        "status",
        ("channel", admin.RelatedOnlyFieldListFilter),
        "merchant",
        OpenHoldTypeFilter,
        "service_level",
    ]
    search_fields = [
        "=number",
        "=external_id",
        "=channel_order_name",
        "email",
        "first_name",
        "last_name",
        "=lines__sku",
    ]
    list_select_related = ["merchant", "channel"]
    date_hierarchy = "placed_at"
    list_per_page = 50
    fieldsets = [
        (None, {"fields": ["number", "status", "merchant", "channel", "external_id", "channel_order_name", "placed_at",
                           "total_display", "amend_link"]}),
        ("Customer", {"fields": ["customer_block", "shipping_block", "billing_block"]}),
        ("Delivery", {"fields": ["service_level", "fulfillment_type", "pickup_node", "promise_date", "notes"]}),
        ("Lines", {"fields": ["lines_table"]}),
        ("Payments", {"fields": ["payments_table"]}),
        ("Holds", {"fields": ["holds_table"]}),
        ("Timeline", {"fields": ["timeline_table"]}),
        ("Fulfilment and messages", {"fields": ["more_sections"]}),
        ("Changes made in the admin", {"fields": ["admin_log"], "classes": ["collapse"]}),
    ]  # fmt: skip

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        return super().get_queryset(request).prefetch_related("holds")

    # List columns

    @admin.display(description="channel", ordering="channel__code")
    def channel_code(self, order: Order) -> str:
        return order.channel.code

    @admin.display(description="customer")
    def customer_display(self, order: Order) -> str:
        return order.customer_name or order.email

    @admin.display(description="total", ordering="total")
    def total_display(self, order: Order) -> str:
        return f"{order.total:.2f} {order.currency}"

    @admin.display(description="open holds")
    def open_holds(self, order: Order) -> str:
        return ", ".join(sorted({h.type for h in order.holds.all() if h.is_open})) or "—"

    # Detail blocks

    @admin.display(description="change")
    def amend_link(self, order: Order) -> SafeString:
        url = reverse("admin:orders_order_amend", args=[order.pk])
        return format_html('<a class="button" href="{}">Amend order…</a>', url)

    @admin.display(description="customer")
    def customer_block(self, order: Order) -> SafeString:
        return format_html("{}<br>{}<br>{}", order.customer_name, order.email, order.phone or "no phone")

    @staticmethod
    def _address(address: dict[str, Any] | None) -> SafeString:
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

    @admin.display(description="ship to")
    def shipping_block(self, order: Order) -> SafeString:
        return self._address(order.shipping_address)

    @admin.display(description="bill to")
    def billing_block(self, order: Order) -> SafeString:
        return self._address(order.billing_address)

    @admin.display(description="lines")
    def lines_table(self, order: Order) -> SafeString:
        rows = [
            (line.pk, line.sku, line.name, f"{line.unit_price:.2f}", line.quantity, line.qty_cancelled,
             line.qty_allocated, line.qty_backordered, line.qty_shipped, line.qty_delivered, line.qty_returned)
            for line in order.lines.all()
        ]  # fmt: skip
        headers = [
            "id",
            "SKU",
            "name",
            "unit price",
            "ordered",
            "cancelled",
            "allocated",
            "backordered",
            "shipped",
            "delivered",
            "returned",
        ]
        return _table(headers, rows)

    @admin.display(description="payments")
    def payments_table(self, order: Order) -> SafeString:
        rows = [(p.gateway, p.transaction_type, f"{p.amount:.2f} {p.currency}", p.status) for p in order.payments.all()]
        return _table(["gateway", "type", "amount", "status"], rows)

    @admin.display(description="holds")
    def holds_table(self, order: Order) -> SafeString:
        rows = [
            (h.get_type_display(), h.reason, h.created_by, f"{h.created_at:%Y-%m-%d %H:%M}",
             "open" if h.is_open else f"resolved by {h.resolved_by}: {h.resolution_note}")
            for h in order.holds.all()
        ]  # fmt: skip
        return _table(["type", "reason", "placed by", "at", "status"], rows)

    @admin.display(description="timeline")
    def timeline_table(self, order: Order) -> SafeString:
        rows = [
            (f"{e.created_at:%Y-%m-%d %H:%M:%S}", e.name.replace("_", " "),
             f"{e.from_status or '—'} → {e.to_status}" if e.to_status else "", e.actor_label, e.reason)
            for e in order.events.all()
        ]  # fmt: skip
        return _table(["when", "what", "status", "who", "why"], rows)

    @admin.display(description="from the other apps")
    def more_sections(self, order: Order) -> SafeString:
        return format_html_join(
            "", "<h3>{}</h3>{}", ((title, render(order)) for title, render in ORDER_PAGE_SECTIONS)
        ) or format_html("<p>{}</p>", "Nothing yet.")

    @admin.display(description="admin log")
    def admin_log(self, order: Order) -> SafeString:
        entries = LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Order), object_id=str(order.pk)
        ).select_related("user")
        rows = [(f"{e.action_time:%Y-%m-%d %H:%M}", e.user.get_username(), e.get_change_message()) for e in entries]
        return _table(["when", "who", "what"], rows)

    # Transitions and amendment go through the services

    def _apply_fsm_transition(
        self, *, obj: Order, transition_name: str, request: HttpRequest, kwargs: Any = None
    ) -> bool:
        action = TRANSITION_ACTIONS.get(transition_name)
        if action is None:
            self.message_user(request, f"'{transition_name}' is not available here.", level=messages.ERROR)
            return False
        try:
            summary = action(obj, Actor.user(request.user), dict(kwargs or {}))
        except (DomainError, TransitionNotAllowed) as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
            return False
        self.log_change(request, obj, summary)
        self.message_user(request, summary, level=messages.SUCCESS)
        return True

    def get_urls(self) -> list[Any]:
        amend = path("<path:object_id>/amend/", self.admin_site.admin_view(self.amend_view), name="orders_order_amend")
        return [amend, *super().get_urls()]

    def amend_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        order = get_object_or_404(Order.objects.select_related("pickup_node"), pk=object_id)
        if not self.has_change_permission(request, order):
            return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
        form = AmendForm(request.POST or None, initial=AmendForm.initial_for(order))
        if request.method == "POST" and form.is_valid():
            serializer = OrderAmendIn(data=form.as_changes())
            if not serializer.is_valid():
                for error in flatten(serializer.errors):
                    form.add_error(None, f"{error['field']}: {error['message']}")
            else:
                try:
                    order_amend(order=order, changes=serializer.validated_data, actor=Actor.user(request.user))
                except DomainError as exc:
                    for error in exc.errors:
                        form.add_error(None, f"{error.field}: {error.message}" if error.field else error.message)
                else:
                    self.log_change(request, order, "Amended the order")
                    self.message_user(request, "Order amended.", level=messages.SUCCESS)
                    return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
        context = {**self.admin_site.each_context(request), "opts": self.opts, "original": order, "form": form,
                   "title": f"Amend order {order.number}"}  # fmt: skip
        return TemplateResponse(request, "admin/orders/order/amend.html", context)


@admin.register(Hold)
class HoldAdmin(admin.ModelAdmin):
    """The holds queue: open holds, oldest first; saving a hold with a note resolves it."""

    list_display = ["order_link", "type", "reason", "age", "created_by", "created_at", "resolved_at"]
    list_filter = [("resolved_at", admin.EmptyFieldListFilter), "type", "order__merchant"]
    search_fields = ["=order__number", "reason"]
    list_select_related = ["order"]
    fields = [
        "order_link",
        "type",
        "reason",
        "created_by",
        "created_at",
        "resolved_by",
        "resolved_at",
        "resolution_note",
    ]
    readonly_fields = ["order_link", "type", "reason", "created_by", "created_at", "resolved_by", "resolved_at"]
    ordering = ["resolved_at", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # holds are placed from the order page, through the service

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        if not request.GET:  # the queue opens on what needs work
            return HttpResponseRedirect(f"{request.path}?resolved_at__isempty=1")
        return super().changelist_view(request, extra_context)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and obj.is_open:
            field = form.base_fields["resolution_note"]
            field.required = True
            field.help_text = "Saving with a note resolves this hold (the last one resumes the order)."
        return form

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is not None and not obj.is_open:
            return [*self.readonly_fields, "resolution_note"]
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Hold, form: Any, change: bool) -> None:
        if obj.is_open:
            note = form.cleaned_data["resolution_note"]
            hold_resolve(hold=obj, actor=Actor.user(request.user), note=note)
            self.log_change(request, obj.order, f"Resolved {obj.type} hold: {note}")

    @admin.display(description="order", ordering="order__number")
    def order_link(self, hold: Hold) -> SafeString:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[hold.order_id]), hold.order.number
        )

    @admin.display(description="age")
    def age(self, hold: Hold) -> str:
        hours = ((hold.resolved_at or timezone.now()) - hold.created_at).total_seconds() / 3600
        return f"{hours:.0f} h" if hours >= 1 else f"{hours * 60:.0f} min"


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "last_name", "phone", "merchant", "created_at"]
    list_filter = ["merchant"]
    search_fields = ["email", "first_name", "last_name", "phone"]
    list_select_related = ["merchant"]


# Payments, fraud and tax pages and the order page's payment sections (orders/payments/admin.py);
# channel connections, their runs, SKU maps, webhooks and pushes (orders/channels/admin.py).
from orders.channels import admin as _channels_admin  # noqa: E402, F401
from orders.payments import admin as _payments_admin  # noqa: E402, F401
