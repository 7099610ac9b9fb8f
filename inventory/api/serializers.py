from __future__ import annotations

from rest_framework import serializers

from inventory.models import Product
from oms.api.base import StrictSerializer
from oms.api.fields import StrictBooleanField, StrictCharField


class ProductIn(StrictSerializer):
    sku = StrictCharField(max_length=64)
    name = StrictCharField(max_length=255)
    barcode = StrictCharField(max_length=64, required=False, allow_blank=True)
    active = StrictBooleanField(required=False)


class ProductPatchIn(ProductIn):
    sku = None  # the SKU is the product's identity: it is not amended
    name = StrictCharField(max_length=255, required=False)


class ProductOut(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["sku", "name", "barcode", "active", "created_at", "updated_at"]


class BulkIn(StrictSerializer):
    items = serializers.ListField(child=serializers.JSONField(), min_length=1, max_length=1000)


class BulkResultOut(serializers.Serializer):
    index = serializers.IntegerField()
    sku = serializers.CharField(allow_null=True)
    result = serializers.ChoiceField(choices=["created", "updated", "error"])
    errors = serializers.ListField(child=serializers.DictField(), required=False)


class BulkOut(serializers.Serializer):
    results = BulkResultOut(many=True)
