"""Request bodies of the webhook API."""

from __future__ import annotations

from rest_framework import serializers

from oms.api.base import StrictSerializer
from oms.api.fields import StrictBooleanField, StrictCharField


class SubscriptionIn(StrictSerializer):
    url = StrictCharField(max_length=500)
    event_types = serializers.ListField(child=StrictCharField(max_length=60), allow_empty=False, max_length=100)
    description = StrictCharField(max_length=200, required=False, allow_blank=True)
    secret = StrictCharField(min_length=16, max_length=100, required=False)
    active = StrictBooleanField(required=False)


class SubscriptionPatchIn(SubscriptionIn):
    url = StrictCharField(max_length=500, required=False)
    event_types = serializers.ListField(
        child=StrictCharField(max_length=60), allow_empty=False, max_length=100, required=False
    )
    rotate_secret = StrictBooleanField(required=False)
