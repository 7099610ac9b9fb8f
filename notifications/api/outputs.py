"""Response bodies of the webhook API."""

from __future__ import annotations

from rest_framework import serializers

from notifications.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from oms.api.base import ModelSerializer


class SubscriptionOut(ModelSerializer):
    secret_hint = serializers.SerializerMethodField()

    class Meta:
        model = WebhookSubscription
        fields = [
            "id", "url", "event_types", "description", "active", "secret_hint", "consecutive_failures",
            "disabled_at", "disabled_reason", "created_at", "updated_at",
        ]  # fmt: skip

    def get_secret_hint(self, sub: WebhookSubscription) -> str:
        return f"…{sub.secret[-4:]}"


class SubscriptionWithSecretOut(SubscriptionOut):
    """Shown when the secret is created or rotated: the only time the API returns it."""

    class Meta(SubscriptionOut.Meta):
        fields = [*SubscriptionOut.Meta.fields, "secret"]


class AttemptOut(ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "started_at", "duration_ms", "status_code", "error"]


class DeliveryOut(ModelSerializer):
    attempt_log = AttemptOut(many=True, read_only=True)
    replay_of = serializers.UUIDField(source="replay_of_id", allow_null=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "event_id", "event_type", "status", "attempts", "last_status_code", "last_duration_ms",
            "last_error", "next_attempt_at", "created_at", "delivered_at", "replay_of", "attempt_log",
        ]  # fmt: skip


class EventTypeOut(serializers.Serializer):
    type = serializers.CharField()
    description = serializers.CharField()
