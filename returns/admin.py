"""Returns in the operations console: the returns queue (by status and age) with the
receive-and-inspect screen, the approval queue (claims and appeasements over a limit, returns
in manual review), the order page's section with "Start a return", "Claim" and "Appease", and
the merchant's reasons, policy and putaway rules. Every action runs the API's services."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django_fsm import TransitionNotAllowed

from oms.actors import Actor
from oms.admin import RecordAdmin
from oms.errors import DomainError
from oms.money import money_text
from orders.admin import ORDER_PAGE_SECTIONS, _table
from orders.admin_workspace import money_column
from orders.customers import CUSTOMER_TIMELINE_SOURCES, TimelineEntry
from orders.models import Customer, Order
from returns.admin_forms import AppeaseForm, ClaimForm, GradeForm, ReasonForm, ScanForm, StartReturnForm
from returns.models import (
    OPEN,
    Appeasement,
    Approval,
    Claim,
    PutawayRule,
    Receipt,
    Return,
    ReturnReason,
    ReturnSettings,
    ReturnStatus,
    ReturnUnit,
)
from returns.services.approvals import authority_of
from returns.services.goodwill import (
    appeasement_approve,
    appeasement_create,
    appeasement_reject,
    claim_approve,
    claim_create,
    claim_reject,
)
from returns.services.receiving import return_receive
from returns.services.refunds import return_inspect_and_refund, return_settle
from returns.services.requests import return_authorize, return_cancel, return_open, return_reject


def _age(since: Any) -> str:
    hours = (timezone.now() - since).total_seconds() / 3600
    return f"{hours / 24:.0f} d" if hours >= 48 else f"{hours:.0f} h"


class OpenReturnFilter(admin.SimpleListFilter):
    title = "queue"
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("open", "Open"),
            ("review", "Manual review"),
            ("to_receive", "To receive"),
            ("to_inspect", "To inspect"),
            ("to_refund", "To refund"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        wanted = {
            "open": OPEN,
            "review": [ReturnStatus.REQUESTED],
            "to_receive": [ReturnStatus.AUTHORIZED, ReturnStatus.IN_TRANSIT, ReturnStatus.ARRIVED],
            "to_inspect": [ReturnStatus.RECEIVED],
            "to_refund": [ReturnStatus.INSPECTED],
        }.get(self.value() or "")
        return queryset.filter(status__in=wanted) if wanted else queryset


@admin.register(Return)
class ReturnAdmin(RecordAdmin):
    """The returns queue: oldest first, by status and age."""

    list_display = ["number", "order_link", "status", "method", "node", "age", "created_at"]
    list_filter = [OpenReturnFilter, "status", "method", "node", "merchant"]
    search_fields = ["=number", "=order__number", "=tracking_number"]
    list_select_related = ["order", "node"]
    ordering = ["created_at"]
    fields = [
        "number",
        "order_link",
        "status",
        "method",
        "node",
        "carrier",
        "tracking_number",
        "label_link",
        "decision_reason",
        "refund",
        "buttons",
        "units_table",
        "timeline_table",
    ]

    @admin.display(description="age")
    def age(self, rma: Return) -> str:
        return _age(rma.status_changed_at or rma.created_at)

    @admin.display(description="order")
    def order_link(self, rma: Return) -> SafeString:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[rma.order_id]), rma.order.number
        )

    @admin.display(description="label")
    def label_link(self, rma: Return) -> SafeString:
        from returns.services.requests import label_url

        return format_html('<a href="{}">return label (PDF)</a>', label_url(rma)) if rma.tracking_number else "—"

    @admin.display(description="actions")
    def buttons(self, rma: Return) -> SafeString:
        names = {
            ReturnStatus.REQUESTED: ["authorize", "reject"],
            ReturnStatus.AUTHORIZED: ["receive"],
            ReturnStatus.IN_TRANSIT: ["receive", "lost"],
            ReturnStatus.ARRIVED: ["receive"],
            ReturnStatus.RECEIVED: ["inspect"],
            ReturnStatus.INSPECTED: ["refund"],
        }.get(rma.status, [])
        labels = {"receive": "Receive (scan)…", "inspect": "Inspect (grade)…", "lost": "Lost in transit…"}
        return format_html_join(
            " ",
            '<a class="button" href="{}">{}</a>',
            ((reverse("admin:returns_return_act", args=[rma.pk, n]), labels.get(n, n.title() + "…")) for n in names),
        ) or format_html("{}", "—")

    @admin.display(description="units")
    def units_table(self, rma: Return) -> SafeString:
        rows = [
            (
                u.pk,
                u.line.order_line.sku,
                u.line.reason.code,
                u.line.condition or "—",
                u.receipt,
                u.acceptance,
                u.acceptance_reason or "",
                u.grade or "—",
                u.disposition or "—",
                u.disposition_node or "",
            )
            for u in ReturnUnit.objects.filter(line__rma=rma).select_related(
                "line__order_line", "line__reason", "disposition_node"
            )
        ]
        return _table(
            ["unit", "SKU", "reason", "condition", "receipt", "acceptance", "why", "grade", "disposition", "to node"],
            rows,
        )

    @admin.display(description="timeline")
    def timeline_table(self, rma: Return) -> SafeString:
        rows = [
            (
                f"{e.created_at:%Y-%m-%d %H:%M}",
                e.name.replace("_", " "),
                f"{e.from_status or '—'} → {e.to_status}" if e.to_status else "",
                e.actor_label,
                e.reason,
            )
            for e in rma.events.all()
        ]
        return _table(["when", "what", "status", "who", "why"], rows)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        own = [
            path("<int:pk>/act/<str:action>/", view(self.act_view), name="returns_return_act"),
            path("start/<int:order_id>/<str:kind>/", view(self.start_view), name="returns_return_start"),
        ]
        return own + super().get_urls()

    def _page(
        self,
        request: HttpRequest,
        original: Any,
        back: str,
        action: str,
        form: forms.Form,
        intro: str,
        expected: SafeString | None = None,
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": original,
            "back": back,
            "form": form,
            "action": action,
            "intro": intro,
            "expected": expected,
            "title": f"{action}: {original}",
        }
        return TemplateResponse(request, "admin/returns/action.html", context)

    def _done(
        self,
        request: HttpRequest,
        obj: Any,
        run: Callable[[], Any],
        summary: str,
        back: str,
        form: forms.Form | None = None,
    ) -> HttpResponse | None:
        """Run one service; on a refusal show it (on the form when there is one)."""
        try:
            run()
        except (DomainError, TransitionNotAllowed) as exc:
            if form is not None:
                form.add_error(None, str(exc))
                return None
            self.message_user(request, str(exc), level=messages.ERROR)
            return HttpResponseRedirect(back)
        self.log_change(request, obj, summary)
        self.message_user(request, summary, level=messages.SUCCESS)
        return HttpResponseRedirect(back)

    def _step(self, request: HttpRequest, obj: Any, back: str, form: Any, title: str, intro: str,
              run: Callable[[], Any], summary: str, expected: SafeString | None = None) -> HttpResponse:  # fmt: skip
        """A form screen: on a valid POST run the service (`run` reads the cleaned form), else show it."""
        if request.method == "POST" and form.is_valid():
            done = self._done(request, obj, run, summary, back, form)
            if done:
                return done
        return self._page(request, obj, back, title, form, intro, expected)

    def act_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        rma = get_object_or_404(Return.objects.select_related("order", "node"), pk=pk)
        back = reverse("admin:returns_return_change", args=[rma.pk])
        if not self.has_change_permission(request, rma):
            return HttpResponseRedirect(back)
        actor = Actor.user(request.user)
        post = request.POST if request.method == "POST" else None
        confirm = {
            "authorize": partial(return_authorize, rma=rma, actor=actor),
            "refund": partial(return_settle, rma=rma, actor=actor),
            # The carrier lost the parcel: the return closes, its units lost_in_transit (a claim
            # then refunds or replaces them).
            "lost": partial(return_cancel, rma=rma, actor=actor, reason="Lost in transit",
                            receipt=Receipt.LOST_IN_TRANSIT),
        }  # fmt: skip
        if action in confirm:
            return self._step(request, rma, back, forms.Form(post), action.title(), "Confirm.", confirm[action],
                              f"{rma.number}: {action}")  # fmt: skip
        if action == "reject":
            form: Any = ReasonForm(post)
            run = lambda: return_reject(rma=rma, actor=actor, reason=form.cleaned_data["reason"])  # noqa: E731
            return self._step(request, rma, back, form, "Reject", "The customer is told why.", run,
                              f"{rma.number} rejected")  # fmt: skip
        if action == "receive":
            form = ScanForm(post)
            expected = _table(["SKU", "item", "barcodes", "units"], [
                (line.order_line.sku, line.order_line.name, ", ".join(line.order_line.product.all_barcodes),
                 line.quantity) for line in rma.lines.select_related("order_line__product")])  # fmt: skip
            run = lambda: return_receive(rma=rma, scans=form.scan_list(), actor=actor)  # noqa: E731
            return self._step(request, rma, back, form, "Receive", "Scan every unit in the parcel; other items "
                              "count as wrong items, missing ones as short-shipped.", run, f"{rma.number} received",
                              expected)  # fmt: skip
        if action == "inspect":
            units = list(ReturnUnit.objects.filter(line__rma=rma, receipt=Receipt.RECEIVED)
                         .select_related("line__order_line"))  # fmt: skip
            form = GradeForm(post, units=units)
            run = lambda: return_inspect_and_refund(rma=rma, grades=form.grades(), actor=actor)  # noqa: E731
            intro = (
                "Grade each unit; only resellable units go back on sale, the rest where the putaway rules send them."
            )
            return self._step(request, rma, back, form, "Inspect", intro, run, f"{rma.number} inspected")
        self.message_user(request, f"'{action}' is not an action here.", level=messages.ERROR)
        return HttpResponseRedirect(back)

    def start_view(self, request: HttpRequest, order_id: int, kind: str) -> HttpResponse:
        """The order page's "Start a return", "Claim" and "Appease" buttons."""
        order = get_object_or_404(Order.objects.select_related("merchant", "channel"), pk=order_id)
        back = reverse("admin:orders_order_change", args=[order.pk])
        if kind not in ("return", "claim", "appeasement") or not request.user.has_perm(f"returns.add_{kind}"):
            return HttpResponseRedirect(back)
        actor = Actor.user(request.user)
        post = request.POST if request.method == "POST" else None
        form: Any
        if kind == "return":
            form = StartReturnForm(post, order=order)
            run = lambda: return_open(order=order, actor=actor, **form.as_request())  # noqa: E731
            return self._step(request, order, back, form, "Start a return", "Quantities per line and a reason.", run,
                              "Return started")  # fmt: skip
        if kind == "claim":
            form = ClaimForm(post, order=order)
            run = lambda: claim_create(order=order, lines=form.as_lines(), actor=actor, **form.claim())  # noqa: E731
            return self._step(request, order, back, form, "Claim", "No return needed; a CSR approves it.", run,
                              "Claim opened (waiting for approval)")  # fmt: skip
        form = AppeaseForm(post)
        run = lambda: appeasement_create(order=order, actor=actor, authority=authority_of(request.user),  # noqa: E731
                                         **form.cleaned_data)  # fmt: skip
        return self._step(request, order, back, form, "Appease", "Within your limit it is refunded at once; above "
                          "it, it waits for a CSR lead or Finance.", run, "Appeasement recorded")  # fmt: skip


def order_returns_section(order: Order) -> SafeString:
    """The order page's returns, claims and appeasements, with the buttons that start them."""
    buttons = format_html_join(
        " ",
        '<a class="button" href="{}">{}</a>',
        (
            (reverse("admin:returns_return_start", args=[order.pk, kind]), label)
            for kind, label in (("return", "Start a return"), ("claim", "Claim"), ("appeasement", "Appease"))
        ),
    )
    returns = _table(
        ["return", "status", "method", "refund"],
        [
            (
                format_html('<a href="{}">{}</a>', reverse("admin:returns_return_change", args=[r.pk]), r.number),
                r.status,
                r.method,
                money_text(r.refund.amount, r.refund.currency) if r.refund else "—",
            )
            for r in Return.objects.filter(order=order).select_related("refund")
        ],
    )
    others = _table(
        ["what", "amount", "status", "by"],
        [
            *(
                (
                    f"claim {c.pk}: {c.get_kind_display()} → {c.resolution}",
                    money_text(c.amount, order.currency),
                    c.status,
                    c.created_by,
                )
                for c in Claim.objects.filter(order=order)
            ),
            *(
                (f"appeasement: {a.reason}", money_text(a.amount, order.currency), a.status, a.created_by)
                for a in Appeasement.objects.filter(order=order)
            ),
        ],
    )
    return format_html("<p>{}</p>{}{}", buttons, returns, others)


ORDER_PAGE_SECTIONS.append(("Returns, claims and appeasements", order_returns_section))


class PendingFilter(admin.SimpleListFilter):
    title = "approval"
    parameter_name = "approval"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("mine", "Pending, within my limit"), ("pending", "All pending")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        from returns.services.approvals import RANK

        if self.value() == "pending":
            return queryset.filter(status=Approval.PENDING)
        if self.value() == "mine":
            authority = authority_of(request.user)
            levels = [lv for lv, rank in RANK.items() if authority is not None and rank <= RANK[authority]]
            return queryset.filter(status=Approval.PENDING, level__in=levels)
        return queryset


class ApprovalAdmin(RecordAdmin):
    """The approval queue: pending first, oldest first; approve within one's limit."""

    list_filter = [PendingFilter, "status", "level", "merchant"]
    search_fields = ["=order__number"]
    list_select_related = ["order"]
    ordering = ["-status", "created_at"]
    actions = ["approve", "reject"]
    approve_service: Callable[..., Any]
    reject_service: Callable[..., Any]

    amount_display = money_column("amount", "amount")

    @admin.display(description="age")
    def age(self, obj: Any) -> str:
        return _age(obj.created_at)

    def _each(self, request: HttpRequest, queryset: QuerySet[Any], run: Callable[[Any], Any], verb: str) -> None:
        for obj in queryset.select_related("order"):
            try:
                run(obj)
            except DomainError as exc:
                self.message_user(request, f"{obj}: {exc}", level=messages.ERROR)
            else:
                self.log_change(request, obj, verb)
                self.message_user(request, f"{obj}: {verb}.", level=messages.SUCCESS)

    @admin.action(description="Approve (within my limit)")
    def approve(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        actor, authority = Actor.user(request.user), authority_of(request.user)
        self._each(request, queryset, lambda obj: type(self).approve_service(obj, actor, authority), "approved")

    @admin.action(description="Reject")
    def reject(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        actor = Actor.user(request.user)
        self._each(request, queryset, lambda obj: type(self).reject_service(obj, actor), "rejected")


@admin.register(Appeasement)
class AppeasementAdmin(ApprovalAdmin):
    list_display = ["pk", "order", "amount_display", "reason", "level", "status", "age", "created_by", "decided_by"]

    @staticmethod
    def approve_service(obj: Appeasement, actor: Actor, authority: str | None) -> Any:
        return appeasement_approve(appeasement=obj, actor=actor, authority=authority)

    @staticmethod
    def reject_service(obj: Appeasement, actor: Actor) -> Any:
        return appeasement_reject(appeasement=obj, actor=actor, reason="Rejected in the approval queue")


@admin.register(Claim)
class ClaimAdmin(ApprovalAdmin):
    list_display = [
        "pk",
        "order",
        "kind",
        "resolution",
        "amount_display",
        "level",
        "status",
        "age",
        "created_by",
        "decided_by",
    ]

    @staticmethod
    def approve_service(obj: Claim, actor: Actor, authority: str | None) -> Any:
        return claim_approve(claim=obj, actor=actor, authority=authority)

    @staticmethod
    def reject_service(obj: Claim, actor: Actor) -> Any:
        return claim_reject(claim=obj, actor=actor, reason="Rejected in the approval queue")


@admin.register(ReturnReason)
class ReturnReasonAdmin(admin.ModelAdmin):
    list_display = ["merchant", "code", "label", "restocking_fee_percent", "wrong_item", "active"]
    list_filter = ["merchant", "active"]


@admin.register(ReturnSettings)
class ReturnSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "merchant",
        "shipping_refund",
        "auto_authorize",
        "refund_on_inspection",
        "advance_exchange",
        "csr_limit",
        "lead_limit",
    ]


@admin.register(PutawayRule)
class PutawayRuleAdmin(admin.ModelAdmin):
    list_display = ["merchant", "grade", "node", "disposition", "target_node"]
    list_filter = ["merchant", "grade", "disposition"]


def _customer_returns(customer: Customer) -> list[TimelineEntry]:
    """The customer view's returns: each RMA as it was opened, with where it stands."""
    return [
        TimelineEntry(r.created_at, "return", f"Return {r.number} for order {r.order.number}: {r.get_status_display()}"
                      + (f", refunded {money_text(r.refund.amount, r.refund.currency)}" if r.refund else ""),
                      url=reverse("admin:returns_return_change", args=[r.pk]))
        for r in Return.objects.filter(order__customer=customer).select_related("order", "refund")[:100]
    ]  # fmt: skip


CUSTOMER_TIMELINE_SOURCES.append(_customer_returns)
