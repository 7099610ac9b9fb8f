"""The operations console: tenancy, the exception queue and the outbox."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from oms.actors import Actor
from oms.alerts import exception_resolve
from oms.errors import DomainError
from oms.models import ApiKey, Channel, Merchant, OpsException, OutboxDelivery, OutboxEvent
from oms.tenancy import api_key_issue, api_key_revoke

admin.site.site_header = "OMS operations console"
admin.site.site_title = "OMS"
admin.site.index_title = "Operations"


class ChannelInline(admin.TabularInline):
    model = Channel
    extra = 0


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
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


@admin.register(OpsException)
class OpsExceptionAdmin(admin.ModelAdmin):
    """The exception queue: open ones first, oldest first."""

    list_display = ["type", "severity", "status", "subject_label", "merchant", "assignee", "age", "created_at"]
    list_filter = [OpenFilter, "type", "severity", "status", "merchant"]
    search_fields = ["subject_label", "subject_id", "message", "type"]
    list_select_related = ["merchant", "assignee"]
    readonly_fields = [
        "type",
        "merchant",
        "subject_type",
        "subject_id",
        "subject_label",
        "message",
        "created_at",
        "resolved_at",
    ]
    fields = [*readonly_fields, "severity", "status", "assignee", "notes"]
    actions = ["assign_to_me", "resolve", "dismiss"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[OpsException]:
        """Only exceptions about what the user may see: an order's holds carry payment, fraud and
        customer data, which the warehouse does not see; a pick delay it does."""
        queryset = super().get_queryset(request).order_by("resolved_at", "created_at")
        if request.user.is_superuser:
            return queryset
        visible = {
            f"{app}.{codename.split('_', 1)[1]}"
            for app, _, codename in (p.partition(".") for p in request.user.get_all_permissions())
            if codename.startswith(("view_", "change_"))
        }
        return queryset.filter(subject_type__in=visible)

    @admin.display(description="age")
    def age(self, obj: OpsException) -> str:
        end = obj.resolved_at or timezone.now()
        hours = (end - obj.created_at).total_seconds() / 3600
        return f"{hours:.0f} h" if hours >= 1 else f"{hours * 60:.0f} min"

    @admin.action(description="Assign to me")
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[OpsException]) -> None:
        queryset.filter(status__in=OpsException.OPEN_STATUSES).update(
            assignee=request.user, status=OpsException.Status.IN_PROGRESS
        )

    @admin.action(description="Resolve")
    def resolve(self, request: HttpRequest, queryset: QuerySet[OpsException]) -> None:
        for exc in queryset:
            self._resolve(request, exc, "resolved in the queue")

    @admin.action(description="Dismiss")
    def dismiss(self, request: HttpRequest, queryset: QuerySet[OpsException]) -> None:
        for exc in queryset:
            self._resolve(request, exc, "dismissed in the queue", dismiss=True)

    def _resolve(self, request: HttpRequest, exc: OpsException, note: str, *, dismiss: bool = False) -> bool:
        """Resolve through what the exception stands for (an order's hold); say so if refused."""
        try:
            exception_resolve(exception=exc, actor=Actor.user(request.user), note=note, dismiss=dismiss)
        except DomainError as error:
            self.message_user(request, f"{exc.subject_label}: {error.message}", level=messages.ERROR)
            return False
        self.log_change(request, exc, "Dismissed" if dismiss else f"Resolved: {note}")
        return True

    def save_model(self, request: HttpRequest, obj: OpsException, form: Any, change: bool) -> None:
        """Setting the status to resolved or dismissed resolves through the same service."""
        closing = obj.status not in OpsException.OPEN_STATUSES and form.initial.get("status") in obj.OPEN_STATUSES
        if not closing:
            super().save_model(request, obj, form, change)
            return
        wanted, obj.status = obj.status, form.initial["status"]
        super().save_model(request, obj, form, change)
        dismiss = wanted == OpsException.Status.DISMISSED
        self._resolve(request, obj, "resolved on its page", dismiss=dismiss)


def admin_log_rows(obj: models.Model) -> list[tuple[str, str, str]]:
    """The admin's change log of one object: (when, who, what), oldest first."""
    entries = (
        LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk))
        .select_related("user")
        .order_by("action_time")
    )
    return [(f"{e.action_time:%Y-%m-%d %H:%M}", e.user.get_username(), e.get_change_message()) for e in entries]


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
