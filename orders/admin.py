"""The order console: orders with their timeline and transition buttons, the holds queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django_fsm import TransitionNotAllowed
from django_fsm.admin import FSMAdminMixin

from oms.actors import Actor
from oms.admin import RecordAdmin
from oms.api.errors import flatten
from oms.errors import DomainError
from oms.forms import CardSafeModelForm
from orders.admin_forms import AmendForm, CancelForm, CancelLinesForm, ChangeLinesForm, PlaceHoldForm, ResolveHoldForm
from orders.admin_workspace import ORDER_PAGE_SECTIONS, address_block, money, workspace
from orders.admin_workspace import table as _table
from orders.api.inputs import OrderAmendIn
from orders.customers import customer_notes, customer_orders, customer_spent, customer_timeline
from orders.models import Customer, Hold, Note, Order
from orders.notes.services import note_add
from orders.search import order_search
from orders.services.amend import order_amend
from orders.services.amend_lines import order_lines_amend
from orders.services.cancel import order_cancel, order_cancel_preview
from orders.services.holds import MUST_FIX, hold_override_approve, hold_override_request, hold_place, hold_release

# The other apps' admins add their sections to the order page and share these helpers.
__all__ = ["ORDER_PAGE_SECTIONS", "OrderAdmin", "_table", "address_block", "money"]

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
    hold_release(hold=data["hold"], actor=actor, note=data["note"])
    return f"Resolved {data['hold'].type} hold: {data['note']}"


TRANSITION_ACTIONS: dict[str, TransitionAction] = {
    "cancel": _cancel,
    "place_hold": _place_hold,
    "resume": _resolve_hold,
}


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
    # The search box runs orders.search (numbers, SKUs, product names, tracking, phone, postal code…).
    search_fields = ["number"]
    search_help_text = (
        "Part of an order number, SKU, product name, tracking number, e-mail, external id or channel order "
        "name; a phone number; a postal code."
    )
    list_select_related = ["merchant", "channel"]
    date_hierarchy = "placed_at"
    list_per_page = 50
    # The page is the workspace (admin_workspace.py); the fields only back RecordAdmin's read-only form.
    change_form_template = "admin/orders/order/workspace.html"
    fields = ["number"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        return super().get_queryset(request).prefetch_related("holds")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Order], search_term: str
    ) -> tuple[QuerySet[Order], bool]:
        return order_search(queryset, search_term), False  # pk IN (…): no duplicate rows

    # List columns

    @admin.display(description="channel", ordering="channel__code")
    def channel_code(self, order: Order) -> str:
        # The channel's own order name beside it: what the customer and the marketplace quote.
        return f"{order.channel.code} {order.channel_order_name}".strip()

    @admin.display(description="customer")
    def customer_display(self, order: Order) -> SafeString:
        url = reverse("admin:orders_customer_change", args=[order.customer_id])
        return format_html('<a href="{}">{}</a>', url, order.customer_name or order.email)

    @admin.display(description="total", ordering="total")
    def total_display(self, order: Order) -> str:
        return money(order.total, order.currency)

    @admin.display(description="open holds")
    def open_holds(self, order: Order) -> str:
        return ", ".join(sorted({h.type for h in order.holds.all() if h.is_open})) or "—"

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        order = self.get_object(request, object_id)
        if order is not None and self.has_view_permission(request, order):
            can_change = self.has_change_permission(request, order)
            extra_context = {**(extra_context or {}), "ws": workspace(request, order, can_change=can_change)}
        return super().change_view(request, object_id, form_url, extra_context)

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
        own = [
            ("<path:object_id>/amend/", self.amend_view, "orders_order_amend"),
            ("<path:object_id>/cancel-lines/", self.cancel_lines_view, "orders_order_cancel_lines"),
            ("<path:object_id>/change-lines/", self.change_lines_view, "orders_order_change_lines"),
            ("<path:object_id>/holds/<int:hold_id>/override/", self.hold_override_view, "orders_order_hold_override"),
            ("<path:object_id>/holds/<int:hold_id>/release/", self.hold_release_view, "orders_order_hold_release"),
        ]
        return [*(path(route, self.admin_site.admin_view(view), name=name) for route, view, name in own),
                *super().get_urls()]  # fmt: skip

    def _order_for_change(self, request: HttpRequest, object_id: str) -> Order | None:
        order = get_object_or_404(Order.objects.select_related("channel", "pickup_node"), pk=object_id)
        return order if self.has_change_permission(request, order) else None

    def _back(self, order: Order) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))

    def _page(self, request: HttpRequest, order: Order, title: str, **context: Any) -> TemplateResponse:
        context = {**self.admin_site.each_context(request), "opts": self.opts, "original": order, "title": title,
                   **context}  # fmt: skip
        return TemplateResponse(request, "admin/orders/order/lines.html", context)

    def _refused(self, request: HttpRequest, form: Any, exc: DomainError) -> None:
        for error in getattr(exc, "errors", None) or [exc]:
            field = getattr(error, "field", None)
            form.add_error(None, f"{field}: {error.message}" if field else error.message)

    def cancel_lines_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Choose lines and quantities; see the refund or void it causes; then confirm."""
        order = self._order_for_change(request, object_id)
        if order is None:
            raise PermissionDenied
        form = CancelLinesForm(request.POST or None, order=order)
        preview = None
        if request.method == "POST" and form.is_valid():
            try:
                preview = order_cancel_preview(order=order, lines=form.as_lines())
            except DomainError as exc:
                self._refused(request, form, exc)
            if preview is not None and "confirm" in request.POST:
                try:
                    order_cancel(order=order, actor=Actor.user(request.user), reason=form.cleaned_data["reason"],
                                 lines=form.as_lines())  # fmt: skip
                except DomainError as exc:
                    self._refused(request, form, exc)
                else:
                    summary = f"Cancelled {form.describe()}: {form.cleaned_data['reason']}; " + (
                        f"refund {money(preview.refund, order.currency)}, void {money(preview.void, order.currency)}"
                    )
                    self.log_change(request, order, summary)
                    self.message_user(request, summary, level=messages.SUCCESS)
                    return self._back(order)
        return self._page(request, order, f"Cancel lines of {order.number}", form=form, preview=preview,
                          currency=order.currency, money=money,
                          preview_rows=preview and [("value cancelled", money(preview.value, order.currency)),
                                                    ("refund of captured money", money(preview.refund, order.currency)),
                                                    ("void of the authorization", money(preview.void, order.currency))],
                          submit="Preview the refund")  # fmt: skip

    def change_lines_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Before release: raise a quantity, substitute a SKU or add a line (re-priced and paid)."""
        order = self._order_for_change(request, object_id)
        if order is None:
            raise PermissionDenied
        form = ChangeLinesForm(request.POST or None, order=order)
        if request.method == "POST" and form.is_valid():
            try:
                order_lines_amend(order=order, changes=form.changes(), actor=Actor.user(request.user),
                                  reason=form.cleaned_data["reason"])  # fmt: skip
            except DomainError as exc:
                self._refused(request, form, exc)
            else:
                self.log_change(request, order, f"Changed lines: {form.cleaned_data['reason']}")
                self.message_user(request, "Lines changed.", level=messages.SUCCESS)
                return self._back(order)
        return self._page(request, order, f"Change lines of {order.number}", form=form, submit="Save the lines")

    def hold_override_view(self, request: HttpRequest, object_id: str, hold_id: int) -> HttpResponse:
        """Ask for an address hold's override (a reason), or approve it (a CSR lead)."""
        order = self._order_for_change(request, object_id)
        if order is None or request.method != "POST":
            raise PermissionDenied
        hold = get_object_or_404(Hold, pk=hold_id, order=order)
        actor = Actor.user(request.user)
        try:
            if hold.details.get("override"):
                if not request.user.has_perm("orders.approve_hold_override"):
                    raise PermissionDenied
                hold_override_approve(hold=hold, actor=actor)
                summary = f"Approved the override of the {hold.type} hold"
            else:
                hold_override_request(hold=hold, actor=actor, reason=request.POST.get("reason", ""))
                summary = f"Asked to override the {hold.type} hold: {request.POST.get('reason', '')}"
        except DomainError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
        else:
            self.log_change(request, order, summary)
            self.message_user(request, summary, level=messages.SUCCESS)
        return self._back(order)

    def hold_release_view(self, request: HttpRequest, object_id: str, hold_id: int) -> HttpResponse:
        order = self._order_for_change(request, object_id)
        if order is None or request.method != "POST":
            raise PermissionDenied
        hold = get_object_or_404(Hold, pk=hold_id, order=order)
        note = request.POST.get("note", "")
        try:
            hold_release(hold=hold, actor=Actor.user(request.user), note=note)
        except DomainError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
        else:
            self.log_change(request, order, f"Resolved the {hold.type} hold: {note}")
            self.message_user(request, f"Resolved the {hold.type} hold.", level=messages.SUCCESS)
        return self._back(order)

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
        intro = ("Changes are validated exactly like an order from a channel. Fixing the address behind an "
                 "address hold resolves it.")  # fmt: skip
        return self._page(request, order, f"Amend order {order.number}", form=form, intro=intro,
                          submit="Save amendment")  # fmt: skip


@admin.register(Hold)
class HoldAdmin(admin.ModelAdmin):
    """The holds queue: open holds, oldest first; saving a hold with a note resolves it."""

    form = CardSafeModelForm

    list_display = ["order_link", "type", "reason", "age", "created_by", "created_at", "resolved_at"]
    list_display_links = ["type"]  # the first column is already a link (to the order)
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
            field.help_text = MUST_FIX.get(
                obj.type, "Saving with a note resolves this hold (the last one resumes the order)."
            )
        return form

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is not None and not obj.is_open:
            return [*self.readonly_fields, "resolution_note"]
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Hold, form: Any, change: bool) -> None:
        if obj.is_open:
            note = form.cleaned_data["resolution_note"]
            try:
                hold_release(hold=obj, actor=Actor.user(request.user), note=note)
            except DomainError as exc:
                self.message_user(request, exc.message, level=messages.ERROR)
                return
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


def _order_url(order: Order) -> str:
    return reverse("admin:orders_order_change", args=[order.pk])


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    """The customer view: contact details, orders, what they spent, notes and one timeline."""

    form = CardSafeModelForm

    list_display = ["email", "first_name", "last_name", "phone", "merchant", "created_at"]
    list_filter = ["merchant"]
    search_fields = ["email", "first_name", "last_name", "phone"]
    list_select_related = ["merchant"]
    readonly_fields = ["merchant", "spent", "orders_table", "notes_block", "timeline", "more_sections"]
    fieldsets = [
        (None, {"fields": ["merchant", "email", "first_name", "last_name", "phone", "spent"]}),
        ("Orders", {"fields": ["orders_table"]}),
        ("Notes", {"fields": ["notes_block"]}),
        ("Timeline", {"fields": ["timeline"]}),
        ("From the other apps", {"fields": ["more_sections"]}),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # customers come with their orders

    @admin.display(description="spent")
    def spent(self, customer: Customer) -> str:
        rows = customer_spent(customer=customer)
        return (
            "; ".join(
                f"{total:.2f} {currency} over {n} order(s)"
                + (f", {refunded:.2f} {currency} refunded" if refunded else "")
                for currency, n, total, refunded in rows
            )
            or "nothing yet"
        )

    @admin.display(description="orders")
    def orders_table(self, customer: Customer) -> SafeString:
        rows = [(format_html('<a href="{}">{}</a>', _order_url(o), o.number), f"{o.placed_at:%Y-%m-%d %H:%M}",
                 o.channel.code, o.get_status_display(), f"{o.total:.2f} {o.currency}")
                for o in customer_orders(customer=customer)]  # fmt: skip
        return _table(["order", "placed", "channel", "status", "total"], rows)

    @admin.display(description="notes")
    def notes_block(self, customer: Customer) -> SafeString:
        add = format_html('<p><a class="button" href="{}?customer={}">Add a note…</a></p>',
                          reverse("admin:orders_note_add"), customer.pk)  # fmt: skip
        rows = [(f"{n.created_at:%Y-%m-%d %H:%M}", n.author_label,
                 format_html('<a href="{}">{}</a>', _order_url(n.order), n.order.number) if n.order else "—", n.text)
                for n in customer_notes(customer=customer)]  # fmt: skip
        return add + _table(["when", "who", "order", "note"], rows)

    @admin.display(description="timeline")
    def timeline(self, customer: Customer) -> SafeString:
        rows = [(f"{e.at:%Y-%m-%d %H:%M}", e.kind, format_html('<a href="{}">{}</a>', e.url, e.text) if e.url
                 else e.text, e.who) for e in customer_timeline(customer=customer, order_url=_order_url)]  # fmt: skip
        return _table(["when", "what", "", "who"], rows)

    @admin.display(description="from the other apps")
    def more_sections(self, customer: Customer) -> SafeString:
        return format_html_join(
            "", "<h3>{}</h3>{}", ((title, render(customer)) for title, render in CUSTOMER_PAGE_SECTIONS)
        ) or format_html("<p>{}</p>", "Nothing yet.")


class NoteForm(forms.ModelForm):
    class Meta:
        model = Note
        fields = ["customer", "order", "text"]
        widgets = {"customer": forms.HiddenInput, "order": forms.HiddenInput, "text": forms.Textarea(
            attrs={"rows": 4, "autofocus": True})}  # fmt: skip


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    """Notes are written from the customer or order page (the add form comes prefilled) and kept."""

    form = NoteForm
    list_display = ["created_at", "author_label", "customer", "order", "text"]
    list_select_related = ["customer", "order"]
    search_fields = ["text", "=order__number", "customer__email"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        order = Order.objects.filter(pk=request.GET.get("order") or None).first()
        if order is not None:
            initial["customer"] = order.customer_id
        return initial

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        note = context.get("original")
        if note is not None:  # a kept note, read-only: its form has no fields
            about, customer = note.order, note.customer
        else:
            form = context["adminform"].form
            about = form["order"].value() and Order.objects.filter(pk=form["order"].value()).first()
            customer = Customer.objects.filter(pk=form["customer"].value() or None).first()
        context["title"] = f"Note on order {about.number}" if about else f"Note on {customer or 'a customer'}"
        return super().render_change_form(request, context, *args, **kwargs)

    def save_model(self, request: HttpRequest, obj: Note, form: Any, change: bool) -> None:
        note = note_add(actor=Actor.user(request.user), text=form.cleaned_data["text"],
                        customer=form.cleaned_data["customer"], order=form.cleaned_data["order"])  # fmt: skip
        obj.pk = note.pk

    def response_add(self, request: HttpRequest, obj: Note, post_url_continue: str | None = None) -> HttpResponse:
        self.message_user(request, "Note added.", level=messages.SUCCESS)
        target = (
            _order_url(obj.order) if obj.order_id else reverse("admin:orders_customer_change", args=[obj.customer_id])
        )
        return HttpResponseRedirect(target)


def _notes_section(order: Order) -> SafeString:
    add = format_html('<p><a class="button" href="{}?order={}">Add a note…</a> <a href="{}">Customer view</a></p>',
                      reverse("admin:orders_note_add"), order.pk,
                      reverse("admin:orders_customer_change", args=[order.customer_id]))  # fmt: skip
    rows = [(f"{n.created_at:%Y-%m-%d %H:%M}", n.author_label, n.text) for n in order.csr_notes.order_by("-created_at")]
    return add + _table(["when", "who", "note"], rows)


# Sections later apps add to the customer page from their admin.py: (title, render(customer) -> HTML).
CUSTOMER_PAGE_SECTIONS: list[tuple[str, Callable[[Customer], SafeString]]] = []
ORDER_PAGE_SECTIONS.insert(0, ("Notes", _notes_section))


# Payments, fraud and tax pages and the order page's payment sections (orders/payments/admin.py);
# channel connections, their runs, SKU maps, webhooks and pushes (orders/channels/admin.py).
from orders.channels import admin as _channels_admin  # noqa: E402, F401
from orders.payments import admin as _payments_admin  # noqa: E402, F401
