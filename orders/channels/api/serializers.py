"""Request and response bodies of the channel connection API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from oms.api.base import ModelSerializer, StrictSerializer
from oms.api.fields import StrictCharField, StrictIntegerField
from orders.channels.connectors.feed import FIELDS
from orders.channels.models import ChannelConnection, ChannelSkuMap, SyncRun
from orders.models import ServiceLevel
from orders.payments.gateways import gateway_codes


class OptionsIn(StrictSerializer):
    sku_field = serializers.ChoiceField(choices=["sku", "variant_id"], required=False)
    service_level = serializers.ChoiceField(choices=ServiceLevel.choices, required=False)
    service_levels = serializers.DictField(child=serializers.ChoiceField(choices=ServiceLevel.choices), required=False)
    tax_handling = serializers.ChoiceField(choices=["exclusive", "included"], required=False)
    payment_gateway = StrictCharField(max_length=30, required=False)
    locations = serializers.DictField(child=serializers.ListField(child=StrictCharField(max_length=40)), required=False)
    feed_format = serializers.ChoiceField(choices=["json", "csv"], required=False)
    feed_fields = serializers.DictField(child=StrictCharField(max_length=100), required=False)
    tracking_url_template = StrictCharField(max_length=300, required=False, allow_blank=True)

    def validate_tracking_url_template(self, value: str) -> str:
        if value and not (value.startswith(("https://", "http://")) and "{tracking_number}" in value):
            raise serializers.ValidationError("An http(s) address containing {tracking_number}.")
        return value

    def validate_payment_gateway(self, value: str) -> str:
        if value not in gateway_codes():
            raise serializers.ValidationError(f"Unknown gateway; one of {', '.join(gateway_codes())}.")
        return value

    def validate_feed_fields(self, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(FIELDS))
        if unknown:
            raise serializers.ValidationError(f"Unknown feed fields: {', '.join(unknown)}.")
        return value


class CredentialsIn(StrictSerializer):
    token = StrictCharField(max_length=500, required=False)
    webhook_secret = StrictCharField(max_length=500, required=False)
    consumer_key = StrictCharField(max_length=500, required=False)
    consumer_secret = StrictCharField(max_length=500, required=False)


class ConnectionIn(StrictSerializer):
    channel = StrictCharField(max_length=40, help_text="Code of one of the merchant's channels.")
    kind = serializers.ChoiceField(choices=ChannelConnection.Kind.choices)
    base_url = serializers.URLField(max_length=500)
    credentials = CredentialsIn(help_text="Write-only: encrypted at rest, never shown again.")
    pull_every_seconds = StrictIntegerField(min_value=10, max_value=86400, required=False, default=300)
    options = OptionsIn(required=False, default=dict)
    active = serializers.BooleanField(required=False, default=True)


class ConnectionPatchIn(StrictSerializer):
    base_url = serializers.URLField(max_length=500, required=False)
    credentials = CredentialsIn(required=False, help_text="Each credential given replaces the stored one.")
    pull_every_seconds = StrictIntegerField(min_value=10, max_value=86400, required=False)
    options = OptionsIn(required=False)
    active = serializers.BooleanField(required=False)
    cursor = serializers.DateTimeField(required=False, allow_null=True, help_text="Re-pull from here (null: all).")


class RunOut(ModelSerializer):
    duration = serializers.FloatField(allow_null=True, help_text="Seconds.")

    class Meta:
        model = SyncRun
        fields = ["id", "trigger", "status", "started_at", "finished_at", "duration", "pages", "fetched",
                  "created", "updated", "duplicates", "rejected", "rejections", "message"]  # fmt: skip


class ConnectionOut(ModelSerializer):
    channel = serializers.CharField(source="channel.code")
    has_credentials = serializers.SerializerMethodField()
    webhook_url = serializers.SerializerMethodField()

    class Meta:
        model = ChannelConnection
        fields = ["uuid", "channel", "kind", "base_url", "has_credentials", "pull_every_seconds", "options",
                  "active", "cursor", "paused_until", "webhook_url", "created_at"]  # fmt: skip

    def get_has_credentials(self, obj: ChannelConnection) -> bool:
        return bool(obj.credentials)

    def get_webhook_url(self, obj: ChannelConnection) -> str:
        return f"/api/v1/channels/connections/{obj.uuid}/webhooks/"


class SkuMapIn(StrictSerializer):
    sku = StrictCharField(max_length=64)
    product_id = StrictCharField(max_length=40, required=False, allow_blank=True)
    variant_id = StrictCharField(max_length=40, required=False, allow_blank=True)
    inventory_item_id = StrictCharField(max_length=40, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in ("product_id", "variant_id", "inventory_item_id"):
            if attrs.get(name) and not attrs[name].isdigit():
                raise serializers.ValidationError({name: "Platform ids are digits (sent as text to stay exact)."})
        return attrs


class SkuMapOut(ModelSerializer):
    class Meta:
        model = ChannelSkuMap
        fields = ["sku", "product_id", "variant_id", "inventory_item_id", "updated_at"]
