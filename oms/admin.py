"""The operations console: tenancy, the exception queue and the outbox."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from oms.actors import Actor
from oms.alerts import exception_resolve, exceptions_assign
from oms.errors import DomainError
from oms.exception_policy import title_of
from oms.exception_queues import (
    QUEUES,
    admin_url_of,
    breach_warning,
    exception_subject_line,
    exceptions_by_urgency,
    exceptions_in_queue,
    subject_name,
)
from oms.forms import CardSafeModelForm
from oms.models import ApiKey, Channel, ExceptionPolicy, Merchant, OpsException, OutboxDelivery, OutboxEvent
from oms.tenancy import api_key_issue, api_key_revoke

admin.site.site_header = "OMS operations console"
admin.site.site_title = "OMS"
admin.site.index_title = "Operations"


class ChannelInline(admin.TabularInline):
    model = Channel
    extra = 0


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    form = CardSafeModelForm
    list_display = ["code", "name", "order_prefix", "active", "created_at"]
    search_fields = ["code", "name"]
    inlines = [ChannelInline]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "merchant", "name", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["merchant"]
    fields = ["merchant", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw = api_key_issue(merchant=obj.merchant, name=obj.name)
        obj.pk, obj.prefix, obj.digest = key.pk, key.prefix, key.digest
        self.message_user(request, f"New API key (copy it now, it is shown only once): {raw}", level=messages.WARNING)

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            api_key_revoke(key=key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")


class OpenFilter(admin.SimpleListFilter):
    title = "open"
    parameter_name = "open"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Open"), ("no", "Closed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(status__in=OpsException.OPEN_STATUSES)
        if self.value() == "no":
            return queryset.exclude(status__in=OpsException.OPEN_STATUSES)
        return queryset


class QueueFilter(admin.SimpleListFilter):
    """The work queues: each holds open exceptions only."""

    title = "queue"
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, label) for name, label in QUEUES.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in QUEUES:
            return exceptions_in_queue(queryset, queue=self.value(), user=request.user, now=timezone.now())
        return queryset


class TypeFilter(admin.SimpleListFilter):
    title = "type"
    parameter_name = "type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        types = OpsException.objects.order_by().values_list("type", flat=True).distinct()
        return sorted(((t, title_of(t)) for t in types), key=lambda pair: pair[1])

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(type=self.value()) if self.value() else queryset


class AssignForm(ActionForm):
    assignee = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True, is_staff=True).order_by("username"),
        required=False,
        empty_label="me",
        label="Assign to",
    )


def _minutes(delta_seconds: float) -> str:
    minutes = abs(delta_seconds) / 60
    if minutes >= 48 * 60:
        return f"{minutes / 1440:.0f} d"
    return f"{minutes / 60:.0f} h" if minutes >= 90 else f"{minutes:.0f} min"


@admin.register(OpsException)
class OpsExceptionAdmin(admin.ModelAdmin):
    """The exception queue: open ones first, the nearest SLA deadline first, then severity."""

    form = CardSafeModelForm

    list_display = ["subject_line", "severity_badge", "status", "order_link", "due", "assignee", "age"]
    list_display_links = None
    list_filter = [QueueFilter, OpenFilter, TypeFilter, "severity", "status", "merchant"]
    search_fields = ["subject_label", "subject_id", "message", "type", "=order_number"]
    list_select_related = ["merchant", "assignee"]
    list_per_page = 50
    action_form = AssignForm
    readonly_fields = [
        "subject_line",
        "links",
        "message",
        "merchant",
        "value_display",
        "due",
        "created_at",
        "first_touched_at",
        "resolved_at",
    ]
    fields = [*readonly_fields, "severity", "status", "assignee", "notes"]
    actions = ["assign", "resolve", "dismiss"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[OpsException]:
        """Only exceptions about what the user may see: an order's holds carry payment, fraud and
        customer data, which the warehouse does not see; a pick delay it does."""
        queryset = exceptions_by_urgency(super().get_queryset(request))
        if request.user.is_superuser:
            return queryset
        visible = {
            f"{app}.{codename.split('_', 1)[1]}"
            for app, _, codename in (p.partition(".") for p in request.user.get_all_permissions())
            if codename.startswith(("view_", "change_"))
        }
        return queryset.filter(subject_type__in=visible)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        if request.method == "GET" and not request.GET:  # the queue opens on what needs work
            return HttpResponseRedirect(f"{request.path}?open=yes")
        return super().changelist_view(request, {"title": "Exception queue", **(extra_context or {})})

    @admin.display(description="exception")
    def subject_line(self, obj: OpsException) -> SafeString:
        url = reverse("admin:oms_opsexception_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a><div class="help">{}</div>', url, exception_subject_line(obj),
                           Truncator(obj.message).chars(140))  # fmt: skip

    @admin.display(description="severity", ordering="severity")
    def severity_badge(self, obj: OpsException) -> SafeString:
        return format_html('<span class="oms-sev oms-sev-{}">{}</span>', obj.severity, obj.get_severity_display())

    @admin.display(description="order", ordering="order_number")
    def order_link(self, obj: OpsException) -> SafeString:
        if obj.order_pk is None:
            return format_html("{}", "—")
        url = reverse("admin:orders_order_change", args=[obj.order_pk])
        return format_html('<a href="{}">{}</a>', url, obj.order_number)

    @admin.display(description="links")
    def links(self, obj: OpsException) -> SafeString:
        out = []
        if obj.order_pk is not None:
            out.append(("Order " + obj.order_number, reverse("admin:orders_order_change", args=[obj.order_pk])))
            if obj.type.endswith("_hold"):
                out.append(("Its holds", f"{reverse('admin:orders_hold_changelist')}?q={obj.order_number}"))
        subject_url = admin_url_of(obj.subject_type, obj.subject_id)
        if subject_url and obj.subject_type != "orders.order":
            out.append((f"{subject_name(obj.subject_type).capitalize()} {obj.subject_label}", subject_url))
        return format_html_join(" · ", '<a href="{1}">{0}</a>', out) or format_html("{}", "—")

    @admin.display(description="order value")
    def value_display(self, obj: OpsException) -> str:
        return f"{obj.value:.2f} {obj.currency}" if obj.value is not None else "—"

    @admin.display(description="SLA", ordering="due")
    def due(self, obj: OpsException) -> SafeString:
        due = obj.due_at()
        if due is None:
            return format_html("{}", "—")
        what = "first touch" if obj.first_touched_at is None else "resolve"
        left = (due - timezone.now()).total_seconds()
        if left < 0:
            return format_html('<span class="oms-breached">{} overdue by {}</span>', what, _minutes(left))
        soon = left <= breach_warning().total_seconds()
        return format_html('<span class="{}">{} in {}</span>', "oms-soon" if soon else "", what, _minutes(left))

    @admin.display(description="age")
    def age(self, obj: OpsException) -> str:
        return _minutes(((obj.resolved_at or timezone.now()) - obj.created_at).total_seconds())

    def save_model(self, request: HttpRequest, obj: OpsException, form: Any, change: bool) -> None:
        """Closing from the form goes through the service (event, note); any edit is a first touch."""
        if obj.status not in OpsException.OPEN_STATUSES and form.initial.get("status") in OpsException.OPEN_STATUSES:
            closing = obj.status
            obj.status = form.initial["status"]
            obj.first_touched_at = obj.first_touched_at or timezone.now()
            super().save_model(request, obj, form, change)
            self._resolve(request, obj, "closed from its page", dismiss=closing == OpsException.Status.DISMISSED)
            return
        obj.first_touched_at = obj.first_touched_at or timezone.now()
        super().save_model(request, obj, form, change)

    @admin.action(description="Assign (to me, or to the person chosen)")
    def assign(self, request: HttpRequest, queryset: QuerySet[OpsException]) -> None:
        try:  # the action form's own field (its "action" choices are only set on the rendered form)
            assignee = AssignForm.base_fields["assignee"].clean(request.POST.get("assignee") or None) or request.user
        except forms.ValidationError:
            self.message_user(request, "That person cannot be assigned exceptions.", level=messages.ERROR)
            return
        ids = list(queryset.values_list("pk", flat=True))
        changed = exceptions_assign(ids=ids, assignee=assignee, actor=Actor.user(request.user))
        who = "you" if assignee == request.user else assignee.get_username()
        skipped = f" ({len(ids) - changed} were closed or already theirs)" if changed < len(ids) else ""
        self.message_user(request, f"Assigned {changed} exception(s) to {who}{skipped}.", level=messages.SUCCESS)

    @admin.action(description="Resolve")
    def resolve(self, request: HttpRequest, queryset: QuerySet[OpsException]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        opened = queryset.filter(status__in=OpsException.OPEN_STATUSES)
        closed = sum(self._resolve(request, exc, "resolved in the queue") for exc in opened)
        skipped = f" ({len(ids) - closed} were already closed or refused)" if closed < len(ids) else ""
        self.message_user(request, f"Resolved {closed} exception(s){skipped}.", level=messages.SUCCESS)

    @admin.action(description="Dismiss")
    def dismiss(self, request: HttpRequest, queryset: QuerySet[OpsException]) -> None:
        opened = queryset.filter(status__in=OpsException.OPEN_STATUSES)
        closed = sum(self._resolve(request, exc, "dismissed in the queue", dismiss=True) for exc in opened)
        self.message_user(request, f"Dismissed {closed} exception(s).", level=messages.SUCCESS)

    def _resolve(self, request: HttpRequest, exc: OpsException, note: str, *, dismiss: bool = False) -> bool:
        """Resolve through what the exception stands for (an order's hold); say so if refused."""
        try:
            exception_resolve(exception=exc, actor=Actor.user(request.user), note=note, dismiss=dismiss)
        except DomainError as error:
            self.message_user(request, f"{exc.subject_label}: {error.message}", level=messages.ERROR)
            return False
        self.log_change(request, exc, "Dismissed" if dismiss else f"Resolved: {note}")
        return True


@admin.register(ExceptionPolicy)
class ExceptionPolicyAdmin(admin.ModelAdmin):
    list_display = ["type", "title", "severity", "high_value", "first_touch_minutes", "resolve_minutes"]


class RecordAdmin(admin.ModelAdmin):
    """A record changed only through its buttons and actions (which run services), never edited
    as a form: nothing to add or delete, no save buttons, every field on the page read-only."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if self.fieldsets:
            return [f for _, options in self.fieldsets for f in options["fields"]]
        if self.fields:
            return list(self.get_fields(request, obj))
        return [field.name for field in self.opts.fields]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        context.update(show_save=False, show_save_and_continue=False, show_save_and_add_another=False)
        return super().render_change_form(request, context, *args, **kwargs)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DeliveryInline(admin.TabularInline):
    model = OutboxDelivery
    extra = 0
    fields = ["consumer", "status", "attempts", "next_attempt_at", "done_at", "last_error"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ["type", "subject", "merchant", "created_at", "dispatched_at"]
    list_filter = ["type", "merchant"]
    search_fields = ["subject_id", "type"]
    list_select_related = ["merchant"]
    inlines = [DeliveryInline]

    @admin.display(description="subject")
    def subject(self, obj: OutboxEvent) -> str:
        return format_html("{}:{}", obj.subject_type, obj.subject_id)


@admin.register(OutboxDelivery)
class OutboxDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["consumer", "event", "status", "attempts", "next_attempt_at", "done_at"]
    list_filter = ["status", "consumer"]
    list_select_related = ["event"]


# The OMS's periodic jobs are intervals (CELERY_BEAT_SCHEDULE, stored by beat's database
# scheduler); crontab, clocked and solar schedules are not used, so the console does not offer them.
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, SolarSchedule  # noqa: E402

for _unused in (ClockedSchedule, CrontabSchedule, SolarSchedule):
    if admin.site.is_registered(_unused):
        admin.site.unregister(_unused)


def admin_log_rows(obj: models.Model) -> list[tuple[str, str, str]]:
    """The admin's change log of one object: (when, who, what), oldest first."""
    entries = (
        LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk))
        .select_related("user")
        .order_by("action_time")
    )
    return [(f"{e.action_time:%Y-%m-%d %H:%M}", e.user.get_username(), e.get_change_message()) for e in entries]
