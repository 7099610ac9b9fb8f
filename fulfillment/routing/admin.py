"""Routing in the operations console: policies and their versions (a new version is added, a
saved one is only read), decisions (read-only, with the table and the sentence), backorders
(retry now), per-(SKU, node) routing flags, the zone cost table, and the order page's routing
section with a "route again" button for a CSR."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from fulfillment.routing.explain import PHRASES
from fulfillment.routing.models import (
    Backorder,
    DropShipRule,
    RoutingDecision,
    RoutingPolicy,
    RoutingPolicyVersion,
    RoutingStrategy,
    ShippingZoneRate,
    SkuNodeRule,
)
from fulfillment.routing.selectors import decisions_of
from fulfillment.routing.services import backorders_retry_due, order_route_again
from fulfillment.routing.services.policies import policy_next_number
from fulfillment.routing.services.reroute import ROUTE_AGAIN_STATES
from fulfillment.routing.spec import check_strategy_fields
from oms.actors import Actor
from oms.errors import DomainError
from oms.money import money_text
from orders.admin import ORDER_PAGE_SECTIONS, _table
from orders.models import Order


def _order_link(order: Order) -> SafeString:
    return format_html('<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[order.pk]), order.number)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- the decision table ----------------------------------------------------------------------


def _cell(line: dict[str, Any], code: str) -> str:
    """What one line found at one node: units it could take, and why not more (or none)."""
    found = next((c for c in line.get("candidates", []) if c["node"] == code), None)
    why = next((r["detail"] for r in line.get("rejected", []) if r["node"] == code), "")
    if found is None:
        return why
    if found["full"]:
        return f"{found['available']} available"
    return f"only {found['available']}" + (f" ({why})" if why else "")


def decision_table(decision: RoutingDecision) -> SafeString:
    """One row per node (candidates by rank, then rejected ones): factor values, score, what
    each line found there, and what the plan took from it."""
    d = decision.details or {}
    currency = decision.order.currency  # rate cards price in the order's currency
    lines = d.get("lines", [])
    taken: dict[str, list[str]] = {}
    for step in d.get("plan", []):
        taken[step["node"]] = [f"{item['sku']} × {item['quantity']}" for item in step["lines"]]
    headers = ["node", "rank", "score", "cost", "delivery", "km", "priority", "load",
               *[f"{line['sku']} × {line['quantity']}" for line in lines], "plan"]  # fmt: skip
    rows: list[tuple[Any, ...]] = []
    for code, node in sorted(d.get("nodes", {}).items(), key=lambda kv: kv[1]["rank"]):
        f = node["factors"]
        distance = f.get("distance")
        rows.append(
            (code, node["rank"], f"{node['score']:.2f}", money_text(f["cost"], currency), node.get("delivery") or "",
             "?" if distance is None else f"{distance:.0f}", f["priority"], f"{f['load']:.0%}",
             *[_cell(line, code) for line in lines], ", ".join(taken.get(code, [])) or "—")
        )  # fmt: skip
    for r in d.get("rejected_nodes", []):
        reason = f"{PHRASES.get(r['reason'], r['reason'])}: {r['detail']}"
        rows.append((r["node"], "—", "—", "", "", "", "", "", *[reason for _ in lines], "—"))
    return _table(headers, rows)


def _notes(decision: RoutingDecision) -> SafeString:
    d = decision.details or {}
    bits = [f"Policy: {decision.policy_label}; strategy: {decision.strategy or '—'}."]
    dest = d.get("destination", {})
    if dest:
        bits.append(
            f"Destination {dest.get('country', '')} {dest.get('region', '')} {dest.get('postal_code', '')} "
            f"geocoded by {dest.get('precision', 'unknown').replace('_', ' ')}."
        )
    for attempt in d.get("strategies", []):
        state = attempt.get("outcome") or ("applies" if attempt["applies"] else f"skipped: {attempt['why']}")
        bits.append(f"Strategy '{attempt['strategy']}': {state}.")
    for race in d.get("races", []):
        bits.append(f"Re-planned: {race['message']}.")
    bits.append(f"Took {decision.duration_ms:.1f} ms.")
    return format_html_join("", "<li>{}</li>", ((b,) for b in bits))


def _routing_section(order: Order) -> SafeString:
    decisions = list(decisions_of(order=order))
    again = (
        format_html(
            '<p><a class="button" href="{}">Route again…</a></p>',
            reverse("admin:fulfillment_route_again", args=[order.pk]),
        )
        if order.status in ROUTE_AGAIN_STATES
        else ""
    )
    if not decisions:
        return format_html("<p>{}</p>{}", "Not routed yet.", again)
    latest = decisions[-1]
    history = _table(
        ["when", "why", "outcome", "policy", "in words"],
        [(f"{d.created_at:%Y-%m-%d %H:%M:%S}", d.get_trigger_display(), d.outcome, d.policy_label, d.explanation)
         for d in reversed(decisions)],
    )  # fmt: skip
    return format_html(
        "<p><strong>{}</strong></p><ul>{}</ul>{}<h4>All routing runs</h4>{}{}",
        latest.explanation, _notes(latest), decision_table(latest), history, again,
    )  # fmt: skip


ORDER_PAGE_SECTIONS.append(("Routing", _routing_section))


# --- policies ----------------------------------------------------------------------------------


class StrategyForm(forms.ModelForm):
    class Meta:
        model = RoutingStrategy
        fields = [
            "position", "name", "conditions", "filters", "ranking", "max_shipments", "ship_complete",
            "ship_complete_channels", "keep_bundles", "failure_action", "failure_days",
        ]  # fmt: skip
        help_texts = {
            "conditions": 'e.g. {"channels": ["web"], "service_levels": ["express"], "regions": ["US-CA"]}',
            "filters": 'e.g. {"node_types": ["dc", "store"], "store_guardrail": 2, "max_distance_km": 800}',
            "ranking": 'e.g. {"weights": {"cost": 1, "distance": 1}} or {"mode": "sort", "order": ["priority", '
            '"distance"], "priority_groups": {"dc": 1, "store": 2, "dropship": 3}}',
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for error in check_strategy_fields(
            conditions=data.get("conditions"), filters=data.get("filters"), ranking=data.get("ranking")
        ):
            name = (error.field or "").split(".")[0]
            self.add_error(name if name in self.fields else None, f"{error.field}: {error.message}")
        if data.get("failure_action") == "cancel_after_days" and not data.get("failure_days"):
            self.add_error("failure_days", "Say after how many days unfilled lines are cancelled.")
        return data


class StrategyFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        if not kept:
            raise forms.ValidationError("A policy version needs at least one strategy.")
        positions = [f.cleaned_data.get("position") for f in kept]
        if len(set(positions)) != len(positions):
            raise forms.ValidationError("Each strategy needs its own position.")


def _copy_initial(fields: list[str], rows: QuerySet[Any]) -> list[dict[str, Any]]:
    return [{name: getattr(row, name) for name in fields} for row in rows]


class StrategyInline(admin.StackedInline):
    model = RoutingStrategy
    form = StrategyForm
    formset = StrategyFormSet
    extra = 1

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None  # a saved version is never changed

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        if obj is not None:
            return 0
        source = _source_version(request)
        return source.strategies.count() if source else 1

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        source = _source_version(request) if obj is None else None
        if source is not None:
            initial = _copy_initial(StrategyForm.Meta.fields, source.strategies.order_by("position"))
            formset.__init__ = _with_initial(formset.__init__, initial)  # type: ignore[method-assign]
        return formset


class DropShipInline(admin.TabularInline):
    model = DropShipRule
    fields = ["sku", "tag", "node"]
    extra = 0
    autocomplete_fields = ["node"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        source = _source_version(request) if obj is None else None
        return source.dropship_rules.count() if source else 0

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        source = _source_version(request) if obj is None else None
        if source is not None:
            initial = [{"sku": r.sku, "tag": r.tag, "node": r.node_id} for r in source.dropship_rules.all()]
            formset.__init__ = _with_initial(formset.__init__, initial)  # type: ignore[method-assign]
        return formset


def _with_initial(init: Any, initial: list[dict[str, Any]]) -> Any:
    def wrapped(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", initial)
        init(self, *args, **kwargs)

    return wrapped


def _source_version(request: HttpRequest) -> RoutingPolicyVersion | None:
    """The version a new one starts from (?from=<id>): its strategies and rules, to edit."""
    pk = request.GET.get("from")
    if not pk or not pk.isdigit():
        return None
    return RoutingPolicyVersion.objects.filter(pk=pk).first()


class VersionInline(admin.TabularInline):
    model = RoutingPolicyVersion
    fields = ["version_link", "comment", "created_by", "created_at"]
    readonly_fields = fields
    extra = 0
    ordering = ["-number"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="version")
    def version_link(self, version: RoutingPolicyVersion) -> SafeString:
        url = reverse("admin:fulfillment_routingpolicyversion_change", args=[version.pk])
        return format_html('<a href="{}">v{}</a>', url, version.number)


@admin.register(RoutingPolicy)
class RoutingPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "merchant", "active", "current_version", "new_version"]
    list_filter = ["merchant", "active"]
    list_select_related = ["merchant"]
    fields = ["merchant", "name", "active", "new_version"]
    readonly_fields = ["new_version"]
    inlines = [VersionInline]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # decisions refer to its versions

    @admin.display(description="current version")
    def current_version(self, policy: RoutingPolicy) -> str:
        latest = policy.versions.order_by("-number").first()
        return f"v{latest.number}" if latest else "—"

    @admin.display(description="")
    def new_version(self, policy: RoutingPolicy) -> SafeString:
        if policy.pk is None:
            return format_html("{}", "Save the policy, then add its first version.")
        latest = policy.versions.order_by("-number").first()
        url = reverse("admin:fulfillment_routingpolicyversion_add") + f"?policy={policy.pk}"
        if latest:
            url += f"&from={latest.pk}"
        return format_html('<a class="button" href="{}">New version…</a>', url)


@admin.register(RoutingPolicyVersion)
class RoutingPolicyVersionAdmin(admin.ModelAdmin):
    """Versions are added (pre-filled from the current one), never edited: decisions point at them."""

    list_display = ["__str__", "policy", "number", "comment", "created_by", "created_at"]
    list_filter = ["policy__merchant", "policy"]
    list_select_related = ["policy"]
    inlines = [StrategyInline, DropShipInline]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["policy", "comment"]
        return ["policy", "number", "comment", "created_by", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else ["policy", "number", "comment", "created_by", "created_at"]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        source = _source_version(request)
        if source is not None:
            initial.setdefault("policy", source.policy_id)
        return initial

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None:
            return False  # read-only once saved
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: RoutingPolicyVersion, form: Any, change: bool) -> None:
        with transaction.atomic():
            obj.number = policy_next_number(obj.policy)
            obj.created_by = request.user.get_username()[:150]
            obj.save()


# --- decisions, backorders, flags, zone table ------------------------------------------------------


@admin.register(RoutingDecision)
class RoutingDecisionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "order_link", "trigger", "outcome", "policy_label", "strategy", "node_list",
                    "duration_ms"]  # fmt: skip
    list_filter = ["outcome", "trigger", "order__merchant"]
    search_fields = ["=order__number"]
    list_select_related = ["order"]
    date_hierarchy = "created_at"
    fields = ["order_link", "created_at", "trigger", "outcome", "explanation", "policy_label", "strategy",
              "duration_ms", "races_lost", "estimated_cost", "promise_met", "table", "notes"]  # fmt: skip
    readonly_fields = fields

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) or request.user.has_perm("orders.view_order")

    @admin.display(description="order", ordering="order__number")
    def order_link(self, decision: RoutingDecision) -> SafeString:
        return _order_link(decision.order)

    @admin.display(description="nodes")
    def node_list(self, decision: RoutingDecision) -> str:
        return ", ".join(decision.nodes) or "—"

    @admin.display(description="decision table")
    def table(self, decision: RoutingDecision) -> SafeString:
        return decision_table(decision)

    @admin.display(description="notes")
    def notes(self, decision: RoutingDecision) -> SafeString:
        return format_html("<ul>{}</ul>", _notes(decision))

    def get_urls(self) -> list[URLPattern]:
        again = path(
            "route-again/<int:order_id>/",
            self.admin_site.admin_view(self.route_again_view),
            name="fulfillment_route_again",
        )
        return [again, *super().get_urls()]

    def route_again_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        """A CSR asks routing to try this order again now (confirm, then POST)."""
        if not request.user.has_perm("orders.change_order"):
            raise PermissionDenied
        order = get_object_or_404(Order, pk=order_id)
        back = reverse("admin:orders_order_change", args=[order.pk])
        if request.method == "POST":
            try:
                decision = order_route_again(order_id=order.pk, actor=Actor.user(request.user))
            except DomainError as exc:
                self.message_user(request, exc.message, level=messages.ERROR)
            else:
                text = decision.explanation if decision else "Nothing left to route."
                self.message_user(request, f"Routed again: {text}", level=messages.SUCCESS)
            return HttpResponseRedirect(back)
        context = {**self.admin_site.each_context(request), "opts": Order._meta, "original": order, "back": back,
                   "title": f"Route order {order.number} again"}  # fmt: skip
        return TemplateResponse(request, "admin/fulfillment/route_again.html", context)


@admin.register(Backorder)
class BackorderAdmin(admin.ModelAdmin):
    list_display = ["order_link", "waiting", "lines", "attempts", "next_attempt_at", "cancel_at"]
    list_select_related = ["order"]
    list_filter = ["order__merchant"]
    search_fields = ["=order__number"]
    ordering = ["order__placed_at", "order_id"]
    actions = ["retry_now"]
    readonly_fields = ["order_link", "created_at", "attempts", "next_attempt_at", "cancel_at"]
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Backorder]:
        return super().get_queryset(request).prefetch_related("order__lines")

    @admin.display(description="order", ordering="order__placed_at")
    def order_link(self, backorder: Backorder) -> SafeString:
        return _order_link(backorder.order)

    @admin.display(description="waiting since", ordering="created_at")
    def waiting(self, backorder: Backorder) -> str:
        return f"{backorder.created_at:%Y-%m-%d %H:%M}"

    @admin.display(description="backordered")
    def lines(self, backorder: Backorder) -> str:
        return ", ".join(f"{line.sku} × {line.qty_backordered}" for line in backorder.order.lines.all()
                         if line.qty_backordered)  # fmt: skip

    @admin.action(description="Retry routing now (oldest order first)")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Backorder]) -> None:
        from django.utils import timezone

        now = timezone.now()
        count = queryset.update(next_attempt_at=now)
        backorders_retry_due(now=now, batch=count, trigger=RoutingDecision.Trigger.CSR)
        self.message_user(request, f"Routing ran again for {count} order(s).", level=messages.SUCCESS)


@admin.register(SkuNodeRule)
class SkuNodeRuleAdmin(admin.ModelAdmin):
    list_display = ["product", "node", "may_route", "note"]
    list_filter = ["may_route", "node"]
    search_fields = ["product__sku", "node__code"]
    autocomplete_fields = ["product", "node"]


@admin.register(ShippingZoneRate)
class ShippingZoneRateAdmin(admin.ModelAdmin):
    list_display = ["merchant", "service_level", "zone", "cost", "transit_days"]
    list_filter = ["merchant", "service_level"]
    list_editable = ["cost", "transit_days"]
