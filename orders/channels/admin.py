"""Channel connections in the admin: settings with write-only credentials, the schedule, the
SKU map, the run log with "Sync now", and the webhooks and pushes for troubleshooting."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from oms.admin import ReadOnlyAdmin
from oms.api.errors import flatten
from oms.outbox import enqueue_now
from orders.channels.api.serializers import OptionsIn
from orders.channels.models import ChannelConnection, ChannelPush, ChannelSkuMap, ChannelWebhook, SyncRun
from orders.channels.services.connections import CREDENTIAL_FIELDS, connection_create, connection_update
from orders.channels.tasks import channel_pull, sku_map_sync

SECRET_FIELDS = ("token", "webhook_secret", "consumer_key", "consumer_secret")


class ConnectionForm(forms.ModelForm):
    """Credentials are typed in, encrypted on save and never shown again (blank keeps them)."""

    base_url = forms.URLField(max_length=500, assume_scheme="https", help_text="The shop's address, or the feed's URL.")
    token = forms.CharField(
        required=False, widget=forms.PasswordInput, help_text="Shopify access token / feed bearer token."
    )
    webhook_secret = forms.CharField(
        required=False, widget=forms.PasswordInput, help_text="Shopify app secret / WooCommerce webhook secret."
    )
    consumer_key = forms.CharField(required=False, widget=forms.PasswordInput, help_text="WooCommerce only.")
    consumer_secret = forms.CharField(required=False, widget=forms.PasswordInput, help_text="WooCommerce only.")

    class Meta:
        model = ChannelConnection
        fields = ["merchant", "channel", "kind", "base_url", "active", "pull_every_seconds", "options", "cursor"]

    def credentials(self) -> dict[str, str]:
        allowed = CREDENTIAL_FIELDS.get(self.cleaned_data.get("kind") or self.instance.kind, ())
        return {
            name: self.cleaned_data[name] for name in SECRET_FIELDS if name in allowed and self.cleaned_data.get(name)
        }

    def clean_options(self) -> dict[str, Any]:
        # The same checks as the API's: a bad option would otherwise fail every pull or push.
        options = self.cleaned_data.get("options") or {}
        checked = OptionsIn(data=options) if isinstance(options, dict) else None
        if checked is None or not checked.is_valid():
            errors = flatten(checked.errors) if checked is not None else [{"message": "A JSON object."}]
            raise forms.ValidationError([f"{e.get('field') or 'options'}: {e['message']}" for e in errors])
        return options

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        channel, merchant = data.get("channel"), data.get("merchant")
        if channel is not None and merchant is not None and channel.merchant_id != merchant.pk:
            self.add_error("channel", "This channel belongs to another merchant.")
        return data


class SkuMapInline(admin.TabularInline):
    model = ChannelSkuMap
    extra = 0
    fields = ["sku", "product_id", "variant_id", "inventory_item_id", "updated_at"]
    readonly_fields = ["updated_at"]


class RunInline(admin.TabularInline):
    model = SyncRun
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["started_at", "trigger", "status", "duration", "pages", "fetched", "created", "updated", "duplicates",
              "rejected", "message"]  # fmt: skip
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[SyncRun]:
        return super().get_queryset(request).order_by("-started_at")


@admin.register(ChannelConnection)
class ChannelConnectionAdmin(admin.ModelAdmin):
    form = ConnectionForm
    list_display = ["channel", "kind", "active", "last_run", "cursor", "paused_until", "pull_every_seconds"]
    list_filter = ["kind", "active", "merchant"]
    list_select_related = ["channel__merchant"]
    search_fields = ["channel__code", "base_url"]
    readonly_fields = ["uuid", "webhook_url", "has_credentials", "sync_now"]
    inlines = [SkuMapInline, RunInline]
    actions = ["sync_selected", "sync_products"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Whose channel and which platform are fixed once connected (the credentials follow the kind).
        fixed = ["merchant", "channel", "kind"] if obj is not None else []
        return [*self.readonly_fields, *fixed]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        settings = ["merchant", "channel", "kind", "base_url", "active", "pull_every_seconds", "options", "cursor"]
        if obj is None:
            return [(None, {"fields": settings}), ("Credentials (write-only)", {"fields": list(SECRET_FIELDS)})]
        return [
            (None, {"fields": ["uuid", "sync_now", *settings]}),
            ("Credentials (write-only)", {"fields": ["has_credentials", *SECRET_FIELDS]}),
            ("Webhooks", {"fields": ["webhook_url"]}),
        ]

    @admin.display(description="last run")
    def last_run(self, obj: ChannelConnection) -> str:
        run = obj.runs.order_by("-started_at").first()
        return f"{run.status} {run.started_at:%Y-%m-%d %H:%M} (+{run.created})" if run else "never"

    @admin.display(description="webhook URL")
    def webhook_url(self, obj: ChannelConnection) -> str:
        return reverse("channel-connection-webhooks", args=[obj.uuid])

    @admin.display(description="credentials stored", boolean=True)
    def has_credentials(self, obj: ChannelConnection) -> bool:
        return bool(obj.credentials)

    @admin.display(description="pull")
    def sync_now(self, obj: ChannelConnection) -> SafeString:
        return format_html(
            '<a class="button" href="{}">Sync now</a>', reverse("admin:orders_channelconnection_sync", args=[obj.pk])
        )

    def save_model(self, request: HttpRequest, obj: ChannelConnection, form: Any, change: bool) -> None:
        # Through the services: credentials encrypted, the periodic pull kept in step.
        data = {
            name: form.cleaned_data[name] for name in ("base_url", "active", "pull_every_seconds", "options", "cursor")
        }
        if change:
            connection_update(connection=obj, changes={**data, "credentials": form.credentials()})
            return
        data.pop("cursor")
        created = connection_create(
            merchant=form.cleaned_data["merchant"],
            channel=form.cleaned_data["channel"],
            kind=form.cleaned_data["kind"],
            credentials=form.credentials(),
            **data,
        )
        obj.pk = created.pk

    @admin.action(description="Sync now")
    def sync_selected(self, request: HttpRequest, queryset: QuerySet[ChannelConnection]) -> None:
        for connection in queryset:
            enqueue_now(channel_pull, connection.pk, SyncRun.Trigger.MANUAL)
        self.message_user(request, f"Pull queued for {queryset.count()} connection(s); see their runs.")

    @admin.action(description="Sync products (fill the SKU map)")
    def sync_products(self, request: HttpRequest, queryset: QuerySet[ChannelConnection]) -> None:
        for connection in queryset:
            enqueue_now(sku_map_sync, connection.pk)
        self.message_user(request, f"Product sync queued for {queryset.count()} connection(s).")

    def get_urls(self) -> list[URLPattern]:
        sync = path(
            "<path:object_id>/sync/", self.admin_site.admin_view(self.sync_view), name="orders_channelconnection_sync"
        )
        return [sync, *super().get_urls()]

    def sync_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        connection = get_object_or_404(ChannelConnection, pk=object_id)
        back = reverse("admin:orders_channelconnection_change", args=[connection.pk])
        if not self.has_change_permission(request, connection):
            return HttpResponseRedirect(back)
        if request.method == "POST":
            enqueue_now(channel_pull, connection.pk, SyncRun.Trigger.MANUAL)
            self.log_change(request, connection, "Sync now")
            self.message_user(request, "Pull queued; its run appears below.", level=messages.SUCCESS)
            return HttpResponseRedirect(back)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "original": connection, "back": back,
                   "title": f"Sync {connection} now"}  # fmt: skip
        return TemplateResponse(request, "admin/orders/channelconnection/sync.html", context)


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ["connection", "started_at", "trigger", "status", "duration", "fetched", "created", "updated",
                    "duplicates", "rejected"]  # fmt: skip
    list_filter = ["status", "trigger", "connection"]
    list_select_related = ["connection__channel__merchant"]
    readonly_fields = ["connection", "trigger", "status", "started_at", "finished_at", "duration", "pages", "fetched",
                       "created", "updated", "duplicates", "rejected", "rejected_orders", "message"]  # fmt: skip
    fields = readonly_fields

    @admin.display(description="rejected orders")
    def rejected_orders(self, run: SyncRun) -> SafeString:
        rows = [
            (r["name"] or r["external_id"], "; ".join(f"{e.get('field') or '-'}: {e['message']}" for e in r["errors"]))
            for r in run.rejections
        ]
        if not rows:
            return SafeString("none")
        body = format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", rows)
        return format_html("<table><tr><th>order</th><th>why</th></tr>{}</table>", body)


@admin.register(ChannelWebhook)
class ChannelWebhookAdmin(ReadOnlyAdmin):
    list_display = ["webhook_id", "connection", "topic", "received_at", "processed_at", "result"]
    list_filter = ["topic", "connection"]
    search_fields = ["=webhook_id"]


@admin.register(ChannelPush)
class ChannelPushAdmin(ReadOnlyAdmin):
    list_display = [
        "kind",
        "connection",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
        "sent_at",
        "last_error",
    ]
    list_filter = ["status", "kind", "connection"]
