"""Admin: e-mail branding and switches, the e-mail log with a preview of every message, webhook
subscriptions, the webhook delivery log with its attempts and replay, and the order page's
'E-mails' and 'Webhooks' sections."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from notifications.messages import MESSAGES
from notifications.models import (
    EmailLog,
    NotificationSettings,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from notifications.rendering import branding, render
from notifications.samples import sample_context
from notifications.selectors import emails_of_order, webhook_deliveries_of_order
from notifications.services.emails import email_retry
from notifications.services.webhooks import (
    webhook_delivery_replay,
    webhook_subscription_create,
    webhook_subscription_disable,
    webhook_subscription_enable,
    webhook_subscription_update,
)
from oms import events
from oms.actors import Actor
from oms.admin import RecordAdmin
from oms.errors import DomainError
from oms.models import Merchant
from orders.admin import ORDER_PAGE_SECTIONS, _table
from orders.models import Order


def _when(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}" if value else "—"


def _https(field: models.Field, **kwargs: Any) -> Any:
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return field.formfield(**kwargs)


# Settings: branding and per-message switches.


class NotificationSettingsForm(forms.ModelForm):
    sent_messages = forms.MultipleChoiceField(
        choices=[(m.key, m.title) for m in MESSAGES.values()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Messages sent",
        help_text="Untick a message to stop sending it to this merchant's customers.",
    )

    class Meta:
        model = NotificationSettings
        exclude = ["disabled_messages"]
        formfield_callback = _https

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        disabled = set(self.instance.disabled_messages or [])
        self.fields["sent_messages"].initial = [key for key in MESSAGES if key not in disabled]

    def save(self, commit: bool = True) -> Any:
        sent = set(self.cleaned_data["sent_messages"])
        self.instance.disabled_messages = [key for key in MESSAGES if key not in sent]
        return super().save(commit)


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    form = NotificationSettingsForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["merchant", "sender_name", "sender_email", "switched_off", "preview_link"]
    fieldsets = [
        (None, {"fields": ["merchant"]}),
        ("Sender", {"fields": ["sender_name", "sender_email", "reply_to"]}),
        ("Branding", {"fields": ["logo_url", "primary_colour", "accent_colour", "footer_text"]}),
        ("Links", {"fields": ["support_url", "order_status_url", "tracking_url_template"]}),
        ("Messages", {"fields": ["sent_messages"]}),
    ]

    @admin.display(description="switched off")
    def switched_off(self, obj: NotificationSettings) -> str:
        return ", ".join(MESSAGES[k].title for k in obj.disabled_messages if k in MESSAGES) or "—"

    @admin.display(description="")
    def preview_link(self, obj: NotificationSettings) -> SafeString:
        url = reverse("admin:notifications_emaillog_preview") + f"?merchant={obj.merchant_id}"
        return format_html('<a href="{}">Preview the e-mails</a>', url)


# The e-mail log and the preview of every message.


@admin.register(EmailLog)
class EmailLogAdmin(RecordAdmin):
    list_display = ["created_at", "template", "recipient", "order_link", "status", "attempts", "sent_at", "merchant"]
    list_filter = ["status", "template", "merchant"]
    search_fields = ["recipient", "subject", "=order__number", "=event_id"]
    list_select_related = ["order", "merchant"]
    date_hierarchy = "created_at"
    actions = ["retry"]
    fieldsets = [
        (None, {"fields": ["status", "template", "recipient", "sender", "reply_to", "subject", "order_link",
                           "merchant", "event_type", "event_id"]}),
        ("Delivery", {"fields": ["attempts", "created_at", "claimed_at", "next_attempt_at", "sent_at", "last_error"]}),
        ("Message", {"fields": ["html_preview", "text_preview"]}),
    ]  # fmt: skip
    change_list_template = "admin/notifications/emaillog/change_list.html"

    @admin.display(description="order", ordering="order__number")
    def order_link(self, obj: EmailLog) -> SafeString | str:
        if obj.order_id is None:
            return "—"
        url = reverse("admin:orders_order_change", args=[obj.order_id])
        return format_html('<a href="{}">{}</a>', url, obj.order.number)  # type: ignore[union-attr]

    @admin.display(description="HTML")
    def html_preview(self, obj: EmailLog) -> SafeString:
        return format_html(
            '<iframe sandbox="" srcdoc="{}" style="width:680px;height:600px;border:1px solid #ccc"></iframe>',
            obj.html_body,
        )

    @admin.display(description="plain text")
    def text_preview(self, obj: EmailLog) -> SafeString:
        return format_html('<pre style="white-space:pre-wrap;max-width:680px">{}</pre>', obj.text_body)

    @admin.action(description="Retry the selected failed e-mails now", permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[EmailLog]) -> None:
        retried = sum(email_retry(email=email) for email in queryset.filter(status=EmailLog.Status.FAILED))
        self.message_user(request, f"{retried} e-mail(s) queued again.")

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("preview/", view(self.preview_view), name="notifications_emaillog_preview"),
            path("preview/<str:key>/", view(self.preview_message_view), name="notifications_emaillog_preview_one"),
            *super().get_urls(),
        ]

    def _preview_brand(self, request: HttpRequest) -> tuple[Merchant | None, dict[str, Any]]:
        merchant = Merchant.objects.filter(pk=request.GET.get("merchant") or None).first()
        if merchant is None:
            stand_in = Merchant(code="demo", name="Your Shop")
            return None, branding(stand_in, None)
        prefs = NotificationSettings.objects.filter(merchant=merchant).first()
        return merchant, branding(merchant, prefs)

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """Every message rendered with sample data (and the chosen merchant's branding)."""
        merchant, brand = self._preview_brand(request)
        previews = []
        for message in MESSAGES.values():
            rendered = render(message, {**sample_context(message), "brand": brand})
            previews.append({"message": message, "rendered": rendered})
        context = {
            **self.admin_site.each_context(request),
            "title": "E-mail previews",
            "opts": self.model._meta,
            "previews": previews,
            "merchants": Merchant.objects.order_by("code"),
            "merchant": merchant,
        }
        return TemplateResponse(request, "admin/notifications/emaillog/preview.html", context)

    def preview_message_view(self, request: HttpRequest, key: str) -> HttpResponse:
        """One message as a bare HTML page (or its text part with ?part=text)."""
        message = MESSAGES.get(key)
        if message is None:
            return HttpResponse(status=404)
        _, brand = self._preview_brand(request)
        rendered = render(message, {**sample_context(message), "brand": brand})
        if request.GET.get("part") == "text":
            return HttpResponse(rendered.text, content_type="text/plain; charset=utf-8")
        return HttpResponse(rendered.html)


# Webhook subscriptions.


class SubscriptionForm(forms.ModelForm):
    event_types_text = forms.CharField(
        label="Event types",
        help_text="Comma-separated: names (order.cancelled), families (shipment.*) or * for everything.",
    )

    class Meta:
        model = WebhookSubscription
        fields = ["merchant", "url", "description", "secret"]
        formfield_callback = _https

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["event_types_text"].initial = ", ".join(self.instance.event_types or ["*"])
        self.fields["secret"].required = False
        self.fields["secret"].help_text = "Leave empty to generate one. The merchant verifies signatures with it."

    def clean_event_types_text(self) -> list[str]:
        names = [name.strip() for name in self.cleaned_data["event_types_text"].split(",") if name.strip()]
        unknown = [name for name in names if not events.pattern_is_known(name)]
        if not names or unknown:
            raise forms.ValidationError(f"Unknown event types: {', '.join(unknown)}" if unknown else "Name one.")
        return names

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if not url.startswith(("http://", "https://")):
            raise forms.ValidationError("Must be an http:// or https:// URL.")
        return url


class DeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    fields = ["created_at", "event_type", "status", "attempts", "last_status_code", "last_duration_ms", "link"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-created_at"]
    verbose_name_plural = "latest deliveries"

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        recent = WebhookDelivery.objects.order_by("-created_at").values("pk")
        return super().get_queryset(request).filter(pk__in=recent[:20])

    @admin.display(description="")
    def link(self, obj: WebhookDelivery) -> SafeString:
        return format_html(
            '<a href="{}">details</a>', reverse("admin:notifications_webhookdelivery_change", args=[obj.pk])
        )


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["url", "merchant", "types", "active", "consecutive_failures", "disabled_at", "deliveries_link"]
    list_filter = ["active", "merchant"]
    search_fields = ["url", "description"]
    list_select_related = ["merchant"]
    readonly_fields = ["consecutive_failures", "failing_since", "retry_at", "disabled_at", "disabled_reason", "active"]
    actions = ["enable", "disable"]

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return [DeliveryInline] if obj is not None else []

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        main = ["merchant", "url", "event_types_text", "description", "secret"]
        if obj is None:
            return [(None, {"fields": main})]
        return [(None, {"fields": main}), ("State", {"fields": self.readonly_fields})]

    @admin.display(description="event types")
    def types(self, obj: WebhookSubscription) -> str:
        return ", ".join(obj.event_types)

    @admin.display(description="")
    def deliveries_link(self, obj: WebhookSubscription) -> SafeString:
        url = reverse("admin:notifications_webhookdelivery_changelist") + f"?subscription__id__exact={obj.pk}"
        return format_html('<a href="{}">deliveries</a>', url)

    def save_model(self, request: HttpRequest, obj: WebhookSubscription, form: Any, change: bool) -> None:
        data = {**form.cleaned_data, "event_types": form.cleaned_data["event_types_text"]}
        if change:
            changes = {k: data[k] for k in ("url", "event_types", "description", "secret") if k in data}
            webhook_subscription_update(subscription=obj, data=changes, actor=Actor.user(request.user))
        else:
            created = webhook_subscription_create(
                merchant=data["merchant"],
                url=data["url"],
                event_types=data["event_types"],
                description=data.get("description", ""),
                secret=data.get("secret", ""),
            )
            obj.pk = created.pk
        obj.refresh_from_db()

    @admin.action(description="Enable (clears the failure count, closes the exception)", permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for sub in queryset:
            webhook_subscription_enable(subscription=sub, actor=Actor.user(request.user))
        self.message_user(request, f"Enabled {queryset.count()} subscription(s).")

    @admin.action(description="Disable", permissions=["change"])
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for sub in queryset:
            webhook_subscription_disable(
                subscription=sub, reason=f"Disabled by {request.user}", actor=Actor.user(request.user)
            )
        self.message_user(request, f"Disabled {queryset.count()} subscription(s).")


# The delivery log, its attempts and replay.


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["number", "started_at", "duration_ms", "status_code", "error", "response_excerpt"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(RecordAdmin):
    list_display = [
        "created_at", "event_type", "endpoint", "merchant", "status", "attempts", "last_status_code",
        "duration", "delivered_at",
    ]  # fmt: skip
    list_filter = ["status", "event_type", "subscription__merchant"]
    search_fields = ["=event_id", "=id", "subscription__url"]
    list_select_related = ["subscription", "subscription__merchant"]
    date_hierarchy = "created_at"
    actions = ["replay"]
    inlines = [AttemptInline]
    change_form_template = "admin/notifications/webhookdelivery/change_form.html"
    fieldsets = [
        (None, {"fields": ["status", "event_type", "event_id", "subscription", "replay_of"]}),
        ("Attempts", {"fields": ["attempts", "created_at", "next_attempt_at", "give_up_at", "delivered_at",
                                 "last_status_code", "last_duration_ms", "last_error"]}),
        ("Body", {"fields": ["pretty_body"]}),
    ]  # fmt: skip

    @admin.display(description="endpoint", ordering="subscription__url")
    def endpoint(self, obj: WebhookDelivery) -> str:
        return obj.subscription.url

    @admin.display(description="merchant", ordering="subscription__merchant__code")
    def merchant(self, obj: WebhookDelivery) -> str:
        return obj.subscription.merchant.code

    @admin.display(description="last duration")
    def duration(self, obj: WebhookDelivery) -> str:
        return f"{obj.last_duration_ms} ms" if obj.last_duration_ms is not None else "—"

    @admin.display(description="body")
    def pretty_body(self, obj: WebhookDelivery) -> SafeString:
        try:
            text = json.dumps(json.loads(obj.body), indent=2)
        except ValueError:
            text = obj.body
        return format_html('<pre style="max-height:480px;overflow:auto">{}</pre>', text)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("<uuid:pk>/replay/", view(self.replay_view), name="notifications_webhookdelivery_replay"),
            *super().get_urls(),
        ]

    def _replay(self, request: HttpRequest, delivery: WebhookDelivery) -> WebhookDelivery | None:
        try:
            return webhook_delivery_replay(delivery=delivery, actor=Actor.user(request.user))
        except DomainError as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
            return None

    def replay_view(self, request: HttpRequest, pk: str) -> HttpResponse:
        if request.method != "POST" or not self.has_change_permission(request):
            return HttpResponse(status=405 if request.method != "POST" else 403)
        replay = self._replay(request, get_object_or_404(WebhookDelivery, pk=pk))
        if replay is None:
            return HttpResponseRedirect(reverse("admin:notifications_webhookdelivery_change", args=[pk]))
        self.log_change(request, replay, f"Replay of delivery {pk}")
        self.message_user(request, f"Replay queued as delivery {replay.pk}.")
        return HttpResponseRedirect(reverse("admin:notifications_webhookdelivery_change", args=[replay.pk]))

    @admin.action(description="Replay the selected deliveries", permissions=["change"])
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        replays = [r for r in (self._replay(request, d) for d in queryset.select_related("subscription")) if r]
        if replays:
            self.message_user(request, f"{len(replays)} replay(s) queued.")


# Sections of the order page.


def _emails_section(order: Order) -> SafeString:
    rows = [
        (
            _when(e.created_at),
            format_html('<a href="{}">{}</a>', reverse("admin:notifications_emaillog_change", args=[e.pk]),
                        MESSAGES[e.template].title if e.template in MESSAGES else e.template),
            e.recipient,
            e.status,
            e.attempts,
            _when(e.sent_at),
            e.last_error[:120],
        )
        for e in emails_of_order(order_id=order.pk)
    ]  # fmt: skip
    return _table(["when", "message", "to", "status", "attempts", "sent", "last error"], rows)


def _webhooks_section(order: Order) -> SafeString:
    rows = [
        (
            _when(d.created_at),
            format_html('<a href="{}">{}</a>', reverse("admin:notifications_webhookdelivery_change", args=[d.pk]),
                        d.event_type),
            d.subscription.url,
            d.status,
            d.attempts,
            d.last_status_code or "—",
        )
        for d in webhook_deliveries_of_order(order_id=order.pk)
    ]  # fmt: skip
    return _table(["when", "event", "endpoint", "status", "attempts", "last status"], rows)


ORDER_PAGE_SECTIONS += [("E-mails", _emails_section), ("Webhooks", _webhooks_section)]
