"""Fulfilment in the operations console: the Warehouse queue (fulfilment orders with their
actions, the scan-verified pack form), shipments with their documents, carriers and rate cards,
and the order page's fulfilment and shipment sections. Every action runs the API's services."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet, URLField
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django_fsm import TransitionNotAllowed

from fulfillment.carriers.models import (
    Carrier,
    CarrierService,
    CarrierStatusCode,
    RateBreak,
    RateCard,
    RateZone,
    Surcharge,
)
from fulfillment.execution.bench import fulfillment_order_pack_and_ship
from fulfillment.execution.message_delivery import node_message_retry
from fulfillment.execution.models import FulfillmentSettings, NodeApiKey, NodeMessage, NodeProfile
from fulfillment.execution.node import (
    fulfillment_order_accept,
    fulfillment_order_cancel_confirm,
    fulfillment_order_pick,
)
from fulfillment.execution.node_keys import node_key_revoke
from fulfillment.execution.picklist import pick_list_make, pick_list_pdf
from fulfillment.execution.pickup import fulfillment_order_picked_up
from fulfillment.execution.shipping import fulfillment_order_ship
from fulfillment.models import AT_NODE, FulfillmentOrder, FulfillmentOrderLine, FulfillmentStatus
from fulfillment.routing.services.reroute import fulfillment_order_reject
from fulfillment.selectors import SERVICE_RANK, WAREHOUSE_ORDERING, bins_of, fulfillment_orders_of, order_shipments
from fulfillment.tracking.models import Shipment, ShipmentDocument, TrackingEvent
from oms.actors import Actor
from oms.admin import RecordAdmin, admin_log_rows
from oms.errors import DomainError
from oms.forms import RefusesCardNumbers
from orders.admin import ORDER_PAGE_SECTIONS, _table, address_block, money
from orders.models import Order, OrderStatus


def _doc_links(shipment: Shipment) -> SafeString:
    return format_html_join(
        " · ", '<a href="{}">{}</a>',
        ((reverse("admin:fulfillment_shipment_document", args=[shipment.pk, kind]), label)
         for kind, label in (("label_pdf", "label PDF"), ("label_zpl", "ZPL"), ("packing_slip", "packing slip"))),
    )  # fmt: skip


class PackShipForm(forms.Form):
    """What the packing screen's script posts: the barcodes of each parcel, and the scans it refused."""

    parcels = forms.JSONField()
    rejected = forms.JSONField(required=False)

    def clean_parcels(self) -> list[list[str]]:
        parcels = self.cleaned_data["parcels"]
        if not isinstance(parcels, list) or not all(
            isinstance(p, list) and all(isinstance(c, str) for c in p) for p in parcels
        ):
            raise forms.ValidationError("A list of parcels, each a list of barcodes.")
        return [p for p in parcels if p]

    def clean_rejected(self) -> list[str]:
        rejected = self.cleaned_data.get("rejected") or []
        return [str(code)[:64] for code in rejected] if isinstance(rejected, list) else []


class RejectForm(RefusesCardNumbers, forms.Form):
    reason = forms.CharField(max_length=500, help_text="Why this node cannot fulfil it; the units are routed again.")


# Buttons without a form: action name -> (label, service taking fulfillment_order= and actor=).
SIMPLE_ACTIONS: dict[str, tuple[str, Callable[..., Any]]] = {
    "accept": ("Accept", fulfillment_order_accept),
    "ship": ("Ship (one parcel)", fulfillment_order_ship),
    "picked_up": ("Customer collected", fulfillment_order_picked_up),
    "cancel": ("Confirm cancellation", fulfillment_order_cancel_confirm),
}
# Which buttons a fulfilment order in each state shows.
BUTTONS = {
    "released": ["pick", "accept", "reject"],
    "accepted": ["pick", "reject"],
    "picked": ["pack"],
    "packed": ["pack", "ship"],
    "ready_for_pickup": ["picked_up"],
}


class FulfillmentOrderLineInline(admin.TabularInline):
    model = FulfillmentOrderLine
    fields = ["order_line", "quantity", "qty_picked", "qty_shipped", "qty_cancelled"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _button_label(name: str) -> str:
    return SIMPLE_ACTIONS[name][0] if name in SIMPLE_ACTIONS else SCREENS.get(name, name.title() + "…")


SCREENS = {"pick": "Pick…", "pack": "Pack and ship…"}


@admin.register(FulfillmentOrder)
class FulfillmentOrderAdmin(RecordAdmin):
    """The Warehouse queue: work at the nodes, the earliest cut-off first (warehouse_queue)."""

    list_display = ["id", "order_number", "node", "status", "service_level", "promise_date", "age", "units",
                    "flags", "work"]  # fmt: skip
    list_filter = ["status", "node", "order__service_level", "order__merchant"]
    search_fields = ["=order__number", "=id", "=shipments__tracking_number"]
    list_select_related = ["order", "node"]
    ordering = WAREHOUSE_ORDERING
    inlines = [FulfillmentOrderLineInline]
    actions = ["pick_list_by_bin", "pick_list_by_sku"]
    fields = ["order_link", "node", "status", "actions_block", "ship_to", "released_at", "accepted_at", "picked_at",
              "packed_at", "shipped_at", "ready_for_pickup_at", "picked_up_at", "closed_at", "rejection_reason",
              "cancel_request", "pack_attempts", "pack_corrected", "shipments_block", "admin_log"]  # fmt: skip

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The buttons only for those who may press them (CSRs read fulfilment orders); a link to
        # the order only for those who may open it (not the warehouse).
        hidden = set() if self.has_change_permission(request, obj) else {"actions_block"}
        order = "order_link" if request.user.has_perm("orders.view_order") else "order_number"
        return [order if name == "order_link" else name for name in self.fields if name not in hidden]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        if request.method == "GET" and not request.GET:  # the queue opens on the work still at the nodes
            return HttpResponseRedirect(f"{request.path}?status__in={','.join(AT_NODE)}")
        return super().changelist_view(request, {"title": "Warehouse queue", **(extra_context or {})})

    def get_queryset(self, request: HttpRequest) -> QuerySet[FulfillmentOrder]:
        return super().get_queryset(request).prefetch_related("lines")

    @admin.display(description="order", ordering="order__number")
    def order_number(self, fo: FulfillmentOrder) -> str:
        return fo.order.number

    @admin.display(description="service", ordering=SERVICE_RANK)
    def service_level(self, fo: FulfillmentOrder) -> str:
        cutoff = f" · cut-off {fo.node.cutoff_time:%H:%M}" if fo.node.cutoff_time else ""
        return f"{fo.order.get_service_level_display()}{cutoff}"

    @admin.display(description="promise", ordering="order__promise_date")
    def promise_date(self, fo: FulfillmentOrder) -> str:
        return f"{fo.order.promise_date:%a %d %b}" if fo.order.promise_date else "—"

    @admin.display(description="age", ordering="released_at")
    def age(self, fo: FulfillmentOrder) -> str:
        if fo.released_at is None:
            return "—"
        hours = (timezone.now() - fo.released_at).total_seconds() / 3600
        return f"{hours:.0f} h" if hours >= 1 else f"{hours * 60:.0f} min"

    @admin.display(description="")
    def work(self, fo: FulfillmentOrder) -> SafeString:
        name = {"released": "pick", "accepted": "pick", "picked": "pack", "packed": "pack"}.get(fo.status)
        if name is None or fo.order.status == OrderStatus.ON_HOLD:
            return format_html("{}", "")
        url = reverse("admin:fulfillment_fulfillmentorder_act", args=[fo.pk, name])
        return format_html('<a class="button" href="{}">{}</a>', url, SCREENS[name])

    @admin.action(description="Print a pick list (bin order)")
    def pick_list_by_bin(self, request: HttpRequest, queryset: QuerySet[FulfillmentOrder]) -> HttpResponse:
        return self._pick_list(request, queryset, "bin")

    @admin.action(description="Print a pick list (SKU order)")
    def pick_list_by_sku(self, request: HttpRequest, queryset: QuerySet[FulfillmentOrder]) -> HttpResponse:
        return self._pick_list(request, queryset, "sku")

    def _pick_list(self, request: HttpRequest, queryset: QuerySet[FulfillmentOrder], sort: str) -> HttpResponse:
        ids = list(queryset.values_list("pk", flat=True))
        pick_list = pick_list_make(fulfillment_order_ids=ids, sort=sort, actor=Actor.user(request.user))
        for fo in pick_list.fulfillment_orders:
            self._log(request, fo, f"On a pick list ({sort} order)")
        response = HttpResponse(pick_list_pdf(pick_list, printed_by=request.user.get_username()),
                                content_type="application/pdf")  # fmt: skip
        response["Content-Disposition"] = f'attachment; filename="pick-list-{timezone.now():%Y%m%d-%H%M}.pdf"'
        return response

    @admin.display(description="order")
    def order_link(self, fo: FulfillmentOrder) -> SafeString:
        return format_html('<a href="{}">{}</a> ({})', reverse("admin:orders_order_change", args=[fo.order_id]),
                           fo.order.number, fo.order.status)  # fmt: skip

    @admin.display(description="ship to")
    def ship_to(self, fo: FulfillmentOrder) -> SafeString:
        """What the node needs: the name and address (never the customer's e-mail or payment)."""
        if fo.order.fulfillment_type == "pickup":
            return format_html("Collected at {} by {}", fo.order.pickup_node, fo.order.customer_name)
        return address_block(fo.order.shipping_address)

    @admin.display(description="changes made here")
    def admin_log(self, fo: FulfillmentOrder) -> SafeString:
        return _table(["when", "who", "what"], admin_log_rows(fo))

    @admin.display(description="units")
    def units(self, fo: FulfillmentOrder) -> int:
        return sum(line.qty_open for line in fo.lines.all())

    @admin.display(description="")
    def flags(self, fo: FulfillmentOrder) -> str:
        out = ["ON HOLD"] if fo.order.status == OrderStatus.ON_HOLD else []
        if fo.cancel_requested_at:
            out.append("cancellation pending")
        if fo.pick_delay_alerted_at:
            out.append("pick delay")
        if fo.pack_corrected:
            out.append("pack corrected")
        return ", ".join(out)

    @admin.display(description="actions")
    def actions_block(self, fo: FulfillmentOrder) -> SafeString:
        names = list(BUTTONS.get(fo.status, []))
        if fo.cancel_requested_at:
            names.append("cancel")
        if not names:
            return format_html("{}", "—")
        return format_html_join(
            " ", '<a class="button" href="{}">{}</a>',
            ((reverse("admin:fulfillment_fulfillmentorder_act", args=[fo.pk, name]), _button_label(name))
             for name in names),
        )  # fmt: skip

    @admin.display(description="shipments")
    def shipments_block(self, fo: FulfillmentOrder) -> SafeString:
        return shipments_table(list(fo.shipments.select_related("carrier", "service")))

    def get_urls(self) -> list[URLPattern]:
        own = [
            path("<int:pk>/act/<str:action>/", self.admin_site.admin_view(self.act_view),
                 name="fulfillment_fulfillmentorder_act"),
        ]  # fmt: skip
        return own + super().get_urls()

    def act_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        fo = get_object_or_404(FulfillmentOrder.objects.select_related("order", "node"), pk=pk)
        back = reverse("admin:fulfillment_fulfillmentorder_change", args=[fo.pk])
        if not self.has_change_permission(request, fo):
            return HttpResponseRedirect(back)
        actor = Actor.user(request.user)
        if action in SIMPLE_ACTIONS:
            if request.method != "POST":
                return self._form(request, fo, SIMPLE_ACTIONS[action][0], forms.Form(), "Confirm.")
            return self._run(
                request,
                fo,
                lambda: SIMPLE_ACTIONS[action][1](fulfillment_order=fo, actor=actor),
                SIMPLE_ACTIONS[action][0],
                back,
            )
        if action == "pick":
            return self._pick_screen(request, fo, actor, back)
        if action == "pack":
            return self._pack_screen(request, fo, actor, back)
        if action == "reject":
            form = RejectForm(request.POST or None)
            if request.method == "POST" and form.is_valid():
                reason = form.cleaned_data["reason"]
                run = lambda: fulfillment_order_reject(fulfillment_order=fo, reason=reason, actor=actor)  # noqa: E731
                return self._run(request, fo, run, f"Rejected: {reason}", back)
            return self._form(request, fo, "Reject", form, "The units go back to routing for another node.")
        self.message_user(request, f"'{action}' is not an action here.", level=messages.ERROR)
        return HttpResponseRedirect(back)

    def _screen(self, request: HttpRequest, fo: FulfillmentOrder, template: str, **context: Any) -> TemplateResponse:
        context = {**self.admin_site.each_context(request), "opts": self.opts, "original": fo, **context}
        return TemplateResponse(request, f"admin/fulfillment/fulfillmentorder/{template}", context)

    def _pick_screen(self, request: HttpRequest, fo: FulfillmentOrder, actor: Actor, back: str) -> HttpResponse:
        """Every line with its bin and a count prefilled with what is to pick: lower a count to pick short."""
        lines = list(fo.lines.select_related("order_line__product"))
        rows = [(line, bin) for line, bin in zip(lines, bins_of(fo, lines), strict=True) if line.qty_open]
        error = ""
        if request.method == "POST":
            try:
                picked = [
                    {"line": line.pk, "picked": int(request.POST.get(f"picked-{line.pk}", ""))} for line, _ in rows
                ]
                if fo.status == FulfillmentStatus.RELEASED:
                    fulfillment_order_accept(fulfillment_order=fo, actor=actor)
                fulfillment_order_pick(fulfillment_order=fo, actor=actor, lines=picked)
            except ValueError:
                error = "Each count must be a whole number."
            except (DomainError, TransitionNotAllowed) as exc:
                error = str(exc)
            else:
                short = sum(line.qty_open - p["picked"] for (line, _), p in zip(rows, picked, strict=True))
                summary = f"Picked, {short} unit(s) short (sent back to routing)" if short else "Picked"
                self._log(request, fo, summary)
                self.message_user(request, f"{fo}: {summary}.", level=messages.WARNING if short else messages.SUCCESS)
                if FulfillmentOrder.objects.filter(pk=fo.pk, status=FulfillmentStatus.PICKED).exists():
                    return HttpResponseRedirect(reverse("admin:fulfillment_fulfillmentorder_act", args=[fo.pk, "pack"]))
                return HttpResponseRedirect(back)
        return self._screen(request, fo, "pick.html", rows=rows, error=error, title=f"Pick {fo}")

    def _pack_screen(self, request: HttpRequest, fo: FulfillmentOrder, actor: Actor, back: str) -> HttpResponse:
        """Scan units into parcels; one submit packs (verifying the scans) and ships a label per parcel."""
        lines = [line for line in fo.lines.select_related("order_line__product") if line.qty_to_ship]
        error = ""
        if request.method == "POST":
            form = PackShipForm(request.POST)
            if form.is_valid():
                parcels = form.cleaned_data["parcels"]
                try:
                    shipments = fulfillment_order_pack_and_ship(fulfillment_order=fo, parcels=parcels, actor=actor,
                                                                rejected=form.cleaned_data["rejected"])  # fmt: skip
                except (DomainError, TransitionNotAllowed) as exc:
                    error = f"{exc} Rescan the parcels."
                else:
                    tracking = ", ".join(s.tracking_number for s in shipments)
                    self._log(request, fo, f"Packed and shipped {len(shipments)} parcel(s): {tracking}")
                    self.message_user(request, f"{fo}: packed and shipped {len(shipments)} parcel(s), one label each: "
                                      f"{tracking}.", level=messages.SUCCESS)  # fmt: skip
                    return HttpResponseRedirect(back)
            else:
                error = "The scans did not arrive whole; rescan the parcels."
        expected = [{"line": line.pk, "sku": line.order_line.sku, "name": line.order_line.name,
                     "barcodes": line.order_line.product.all_barcodes, "quantity": line.qty_to_ship}
                    for line in lines]  # fmt: skip
        return self._screen(request, fo, "pack_ship.html", expected=expected, error=error, title=f"Pack and ship {fo}")

    def _run(self, request: HttpRequest, fo: FulfillmentOrder, run: Callable[[], Any], summary: str, back: str) -> Any:
        try:
            run()
        except (DomainError, TransitionNotAllowed) as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
        else:
            self._log(request, fo, summary)
            self.message_user(request, f"{fo}: {summary}.", level=messages.SUCCESS)
        return HttpResponseRedirect(back)

    def _log(self, request: HttpRequest, fo: FulfillmentOrder, summary: str) -> None:
        """Record the change on the fulfilment order and on its order, whose page shows the log."""
        self.log_change(request, fo, summary)
        self.log_change(request, fo.order, f"Fulfilment order {fo.pk} at {fo.node}: {summary}")

    def _form(self, request: HttpRequest, fo: FulfillmentOrder, action: str, form: forms.Form, intro: str,
              expected: list[tuple[Any, ...]] | None = None) -> TemplateResponse:  # fmt: skip
        context = {**self.admin_site.each_context(request), "opts": self.opts, "original": fo, "form": form,
                   "action": action, "intro": intro, "expected": expected, "title": f"{action}: {fo}"}  # fmt: skip
        return TemplateResponse(request, "admin/fulfillment/fulfillmentorder/action.html", context)


def tracking_table(events: list[TrackingEvent]) -> SafeString:
    """A shipment's carrier events, oldest first, as the CSR reads them."""
    rows = [(f"{e.occurred_at:%Y-%m-%d %H:%M}", e.get_milestone_display(), e.carrier_status, e.location or "—")
            for e in events]  # fmt: skip
    return _table(["when", "milestone", "carrier status", "where"], rows, id="tracking-history")


def shipments_table(shipments: list[Shipment]) -> SafeString:
    """Shipments with links to their pages (where the tracking history is)."""
    rows = [
        (format_html('<a href="{}">{}</a>', reverse("admin:fulfillment_shipment_change", args=[s.pk]),
                     s.tracking_number),
         f"{s.carrier.name} {s.service.name}", s.status, money(s.rate, s.currency), s.estimated_delivery or "—",
         "yes" if s.on_time else ("no" if s.on_time is False else "—"), _doc_links(s))
        for s in shipments
    ]  # fmt: skip
    return _table(["tracking", "service", "status", "rate", "estimated", "on time", "documents"], rows)


@admin.register(Shipment)
class ShipmentAdmin(RecordAdmin):
    """A shipment, its documents and its tracking history (read-only: carriers' events move it)."""

    list_display = ["tracking_number", "carrier", "service", "status", "order", "shipped_at", "delivered_at", "on_time"]
    list_filter = ["status", "carrier", "on_time"]
    search_fields = ["=tracking_number", "=order__number"]
    list_select_related = ["carrier", "service", "order"]
    fields = ["order", "fulfillment_order", "carrier", "service", "tracking_number", "status", "tracking_history",
              "documents", "weight_kg", "billable_weight_kg", "rate_display", "estimated_delivery", "promise_date",
              "policy", "choice_reason", "quotes_table", "shipped_at", "first_scan_at", "delivered_at",
              "on_time"]  # fmt: skip

    @admin.display(description="tracking history")
    def tracking_history(self, shipment: Shipment) -> SafeString:
        return tracking_table(list(shipment.events.order_by("occurred_at", "id")))

    @admin.display(description="rate")
    def rate_display(self, shipment: Shipment) -> str:
        return money(shipment.rate, shipment.currency)

    @admin.display(description="documents")
    def documents(self, shipment: Shipment) -> SafeString:
        return _doc_links(shipment)

    @admin.display(description="quotes")
    def quotes_table(self, shipment: Shipment) -> SafeString:
        rows = [(q["carrier_name"], q["service_name"], ", ".join(q["service_levels"]), q["price"],
                 q["estimated_delivery"]) for q in shipment.quotes]  # fmt: skip
        return _table(["carrier", "service", "levels", "price", "arrives"], rows)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path("<int:pk>/document/<str:kind>/", self.admin_site.admin_view(self.document_view),
                 name="fulfillment_shipment_document"),
        ]  # fmt: skip
        return own + super().get_urls()

    def document_view(self, request: HttpRequest, pk: int, kind: str) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        document = get_object_or_404(ShipmentDocument.objects.select_related("shipment"), shipment_id=pk, kind=kind)
        response = HttpResponse(bytes(document.content), content_type=document.content_type)
        response["Content-Disposition"] = f'inline; filename="{document.filename}"'
        return response


class CarrierServiceInline(admin.TabularInline):
    model = CarrierService
    fields = ["code", "name", "service_levels", "transit_days", "pickup_cutoff", "on_time_rate", "on_time_sample",
              "active"]  # fmt: skip
    readonly_fields = ["on_time_rate", "on_time_sample"]
    extra = 0


class CarrierStatusCodeInline(admin.TabularInline):
    model = CarrierStatusCode
    extra = 0


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    formfield_overrides = {URLField: {"assume_scheme": "https"}}  # an API's base URL: https unless typed
    list_display = ["code", "name", "adapter", "tracking_prefix", "active"]
    inlines = [CarrierServiceInline, CarrierStatusCodeInline]


class RateZoneInline(admin.TabularInline):
    model = RateZone
    extra = 0


class RateBreakInline(admin.TabularInline):
    model = RateBreak
    extra = 0


class SurchargeInline(admin.TabularInline):
    model = Surcharge
    extra = 0


@admin.register(RateCard)
class RateCardAdmin(admin.ModelAdmin):
    list_display = ["service", "zone_basis", "currency", "dim_divisor", "fuel_percent"]
    list_select_related = ["service__carrier"]
    inlines = [RateZoneInline, RateBreakInline, SurchargeInline]


@admin.register(FulfillmentSettings)
class FulfillmentSettingsAdmin(admin.ModelAdmin):
    list_display = ["merchant", "remorse_minutes", "rate_shop_policy", "carrier_scan_hours", "pickup_hold_days"]


@admin.register(NodeApiKey)
class NodeApiKeyAdmin(admin.ModelAdmin):
    """Keys are issued with `manage.py issue_node_token <node>` (shown once); here they are revoked."""

    list_display = ["prefix", "node", "name", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["node", ("revoked_at", admin.EmptyFieldListFilter)]
    fields = ["prefix", "node", "name", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        for key in queryset:
            node_key_revoke(key=key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).", level=messages.SUCCESS)


@admin.register(NodeProfile)
class NodeProfileAdmin(admin.ModelAdmin):
    formfield_overrides = {URLField: {"assume_scheme": "https"}}
    list_display = ["node", "mode", "endpoint_url", "pick_sla_hours"]
    list_filter = ["mode"]


@admin.register(NodeMessage)
class NodeMessageAdmin(RecordAdmin):
    """Messages to integrated nodes' systems: what was sent, when, and what the node answered."""

    list_display = [
        "created_at", "type", "node", "fulfillment_order_link", "status", "attempts", "last_status_code", "sent_at",
    ]  # fmt: skip
    list_filter = ["status", "type", "node"]
    search_fields = ["=event_id", "=id", "=fulfillment_order__id", "fulfillment_order__order__number"]
    list_select_related = ["node", "fulfillment_order"]
    date_hierarchy = "created_at"
    actions = ["retry"]
    fieldsets = [
        (None, {"fields": ["status", "type", "node", "fulfillment_order_link", "event_id"]}),
        ("Attempts", {"fields": ["attempts", "created_at", "claimed_at", "next_attempt_at", "sent_at",
                                 "last_status_code", "last_error"]}),
        ("Body", {"fields": ["pretty_body"]}),
    ]  # fmt: skip

    @admin.display(description="fulfilment order", ordering="fulfillment_order")
    def fulfillment_order_link(self, obj: NodeMessage) -> SafeString:
        url = reverse("admin:fulfillment_fulfillmentorder_change", args=[obj.fulfillment_order_id])
        return format_html('<a href="{}">{}</a>', url, obj.fulfillment_order_id)

    @admin.display(description="body")
    def pretty_body(self, obj: NodeMessage) -> SafeString:
        return format_html(
            '<pre style="max-height:480px;overflow:auto">{}</pre>', json.dumps(json.loads(obj.body), indent=2)
        )

    @admin.action(description="Retry the selected failed messages now", permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[NodeMessage]) -> None:
        retried = sum(node_message_retry(message=m) for m in queryset.filter(status=NodeMessage.Status.FAILED))
        self.message_user(request, f"{retried} message(s) queued again.")


def _fulfillment_section(order: Order) -> SafeString:
    rows = [
        (format_html('<a href="{}">{}</a>', reverse("admin:fulfillment_fulfillmentorder_change", args=[fo.pk]), fo.pk),
         fo.node.code, fo.status, ", ".join(f"{line.order_line.sku} × {line.qty_open}" for line in fo.lines.all()),
         "cancellation pending" if fo.cancel_requested_at else "")
        for fo in fulfillment_orders_of(order)
    ]  # fmt: skip
    return _table(["id", "node", "status", "open units", ""], rows)


def _tracking_details(shipment: Shipment) -> SafeString:
    events = list(shipment.events.all())
    last = events[-1].get_milestone_display() if events else "no event yet"
    return format_html(
        "<details><summary>Tracking {}: {} event(s), last {}</summary>{}</details>",
        shipment.tracking_number, len(events), last, tracking_table(events),
    )  # fmt: skip


def _shipments_section(order: Order) -> SafeString:
    """The order's shipments, each with its tracking history (folded)."""
    shipments = list(order_shipments(order=order))
    history = format_html_join("", "{}", ((_tracking_details(s),) for s in shipments))
    return format_html("{}{}", shipments_table(shipments), history)


ORDER_PAGE_SECTIONS.append(("Fulfilment orders", _fulfillment_section))
ORDER_PAGE_SECTIONS.append(("Shipments and labels", _shipments_section))
