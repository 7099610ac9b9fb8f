from __future__ import annotations

from typing import Any

from rest_framework import serializers

from inventory.models import ChannelRule, Node, Product, Snapshot, StockAdjustment
from oms.api.base import ModelSerializer, StrictSerializer
from oms.api.fields import (
    BoundedDateTimeField,
    HourMinuteField,
    MoneyField,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
)


def _codes(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(child=StrictCharField(max_length=64), max_length=50, required=False, **kwargs)


class Measure(serializers.DecimalField):
    """A non-negative measure (kg, cm), as a string or a JSON number."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 9)
        kwargs.setdefault("decimal_places", 3)
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class ProductIn(StrictSerializer):
    sku = StrictCharField(max_length=64)
    name = StrictCharField(max_length=255)
    barcode = StrictCharField(max_length=64, required=False, allow_blank=True)
    barcodes = _codes()
    tags = _codes()
    tax_code = StrictCharField(max_length=40, required=False, allow_blank=True, source="tax_category")
    unit_of_measure = serializers.ChoiceField(choices=Product.Unit.choices, required=False)
    weight_kg = Measure()
    length_cm = Measure(max_digits=8, decimal_places=2)
    width_cm = Measure(max_digits=8, decimal_places=2)
    height_cm = Measure(max_digits=8, decimal_places=2)
    active = StrictBooleanField(required=False)
    returnable = StrictBooleanField(required=False)
    return_window_days = StrictIntegerField(min_value=0, max_value=3650, required=False)
    ship_alone = StrictBooleanField(required=False)
    hazmat = StrictBooleanField(required=False)


class ProductPatchIn(ProductIn):
    sku = None  # type: ignore[assignment]  # the SKU is the product's identity: it is not amended
    name = StrictCharField(max_length=255, required=False)


class ProductOut(ModelSerializer):
    tax_code = serializers.CharField(source="tax_category")

    class Meta:
        model = Product
        fields = [
            "sku",
            "name",
            "barcode",
            "barcodes",
            "tags",
            "tax_code",
            "unit_of_measure",
            "weight_kg",
            "length_cm",
            "width_cm",
            "height_cm",
            "active",
            "returnable",
            "return_window_days",
            "ship_alone",
            "hazmat",
            "created_at",
            "updated_at",
        ]


class BulkIn(StrictSerializer):
    items = serializers.ListField(child=serializers.JSONField(), min_length=1, max_length=1000)


class BulkResultOut(serializers.Serializer):
    index = serializers.IntegerField()
    sku = serializers.CharField(allow_null=True)
    result = serializers.ChoiceField(choices=["created", "updated", "error"])
    errors = serializers.ListField(child=serializers.DictField(), required=False)


class BulkOut(serializers.Serializer):
    results = BulkResultOut(many=True)


# --- nodes -------------------------------------------------------------------------------------


class NodeIn(StrictSerializer):
    code = serializers.SlugField(max_length=40)
    name = StrictCharField(max_length=200)
    type = serializers.ChoiceField(choices=Node.Type.choices)
    line1 = StrictCharField(max_length=200, required=False, allow_blank=True)
    city = StrictCharField(max_length=100, required=False, allow_blank=True)
    region = StrictCharField(max_length=50, required=False, allow_blank=True)
    postal_code = StrictCharField(max_length=20, required=False, allow_blank=True)
    country = StrictCharField(min_length=2, max_length=2, required=False)
    latitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False, allow_null=True
    )
    longitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False, allow_null=True
    )
    time_zone = StrictCharField(max_length=64, required=False)
    capabilities = serializers.ListField(
        child=serializers.ChoiceField(choices=Node.Capability.choices), max_length=4, required=False
    )
    ships_to = _codes(help_text='Country codes ("US") or country-region codes ("US-CA").')
    tags = _codes()
    daily_capacity = StrictIntegerField(min_value=0, required=False, allow_null=True)
    cutoff_time = HourMinuteField(required=False, allow_null=True)
    handling_cost = MoneyField(max_digits=10, decimal_places=2, required=False)
    priority = StrictIntegerField(min_value=0, max_value=32767, required=False)
    active = StrictBooleanField(required=False)

    def validate_country(self, value: str) -> str:
        return value.upper()

    def validate_ships_to(self, value: list[str]) -> list[str]:
        return sorted({v.upper() for v in value})

    def validate_capabilities(self, value: list[str]) -> list[str]:
        return sorted(set(value))


class NodePatchIn(NodeIn):
    code = None  # type: ignore[assignment]  # the code is the node's identity
    name = StrictCharField(max_length=200, required=False)
    type = serializers.ChoiceField(choices=Node.Type.choices, required=False)


class NodeOut(ModelSerializer):
    owned = serializers.SerializerMethodField()
    cutoff_time = HourMinuteField(allow_null=True)

    class Meta:
        model = Node
        fields = [
            "code",
            "name",
            "type",
            "owned",
            "line1",
            "city",
            "region",
            "postal_code",
            "country",
            "latitude",
            "longitude",
            "geo_precision",
            "time_zone",
            "capabilities",
            "ships_to",
            "tags",
            "daily_capacity",
            "cutoff_time",
            "handling_cost",
            "priority",
            "active",
        ]

    def get_owned(self, node: Node) -> bool:
        merchant = self.context.get("merchant")
        return merchant is not None and node.owner_id == merchant.pk


# --- sync --------------------------------------------------------------------------------------


class AdjustmentIn(StrictSerializer):
    id = StrictCharField(max_length=100)
    sku = StrictCharField(max_length=64)
    node = StrictCharField(max_length=40)
    quantity = StrictIntegerField(min_value=-1_000_000, max_value=1_000_000)
    reason = serializers.ChoiceField(choices=StockAdjustment.Reason.choices)


class AdjustmentsIn(StrictSerializer):
    adjustments = serializers.ListField(child=serializers.JSONField(), min_length=1, max_length=1000)


class AdjustmentResultOut(serializers.Serializer):
    id = serializers.CharField(allow_null=True)
    result = serializers.ChoiceField(choices=["applied", "duplicate", "error"])
    errors = serializers.ListField(child=serializers.DictField(), required=False)
    on_hand = serializers.IntegerField(required=False)
    allocated = serializers.IntegerField(required=False)
    atp = serializers.IntegerField(required=False)


class AdjustmentsOut(serializers.Serializer):
    results = AdjustmentResultOut(many=True)


class SnapshotIn(StrictSerializer):
    id = StrictCharField(max_length=100)
    node = StrictCharField(max_length=40)
    as_of = BoundedDateTimeField()
    # Rows are checked one by one while the snapshot is applied, so one bad row rejects itself only.
    counts = serializers.ListField(child=serializers.JSONField(), max_length=250_000)


class SnapshotAcceptedOut(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    status_url = serializers.CharField()


class SnapshotOut(ModelSerializer):
    id = serializers.CharField(source="external_id")
    node = serializers.CharField(source="node.code")
    rows_processed = serializers.IntegerField(source="cursor")
    progress = serializers.FloatField()

    class Meta:
        model = Snapshot
        fields = [
            "id",
            "node",
            "as_of",
            "status",
            "progress",
            "rows_total",
            "rows_processed",
            "rows_applied",
            "rows_unchanged",
            "rows_rejected",
            "rows_zeroed",
            "rejections",
            "shortfalls",
            "created_at",
            "completed_at",
        ]


# --- availability ------------------------------------------------------------------------------


class AvailabilityQuery(serializers.Serializer):
    sku = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=200)
    channel = serializers.CharField(max_length=40, required=False)
    country = serializers.CharField(min_length=2, max_length=2, required=False)
    region = serializers.CharField(max_length=50, required=False)
    postal_code = serializers.CharField(max_length=20, required=False)


class NodeAvailabilityOut(serializers.Serializer):
    node = serializers.CharField()
    type = serializers.CharField()
    atp = serializers.IntegerField()
    distance_km = serializers.FloatField(allow_null=True)


class SkuAvailabilityOut(serializers.Serializer):
    sku = serializers.CharField()
    atp = serializers.IntegerField()
    safe_to_promise = serializers.IntegerField()
    nodes = NodeAvailabilityOut(many=True)


class DestinationOut(serializers.Serializer):
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)
    precision = serializers.CharField()


class AvailabilityOut(serializers.Serializer):
    results = SkuAvailabilityOut(many=True)
    destination = DestinationOut(required=False, allow_null=True)


class ChannelRuleIn(StrictSerializer):
    buffer_type = serializers.ChoiceField(choices=ChannelRule.BufferType.choices)
    buffer_value = MoneyField(max_digits=7, decimal_places=2)
    node_types = serializers.ListField(child=serializers.ChoiceField(choices=Node.Type.choices), min_length=1)
    store_capabilities = serializers.ListField(
        child=serializers.ChoiceField(choices=[Node.Capability.SHIP_FROM_STORE, Node.Capability.PICKUP]),
        required=False,
    )

    def validate_node_types(self, value: list[str]) -> list[str]:
        return sorted(set(value))

    def validate_store_capabilities(self, value: list[str]) -> list[str]:
        return sorted(set(value))


class ChannelRuleOut(serializers.Serializer):
    channel = serializers.CharField()
    buffer_type = serializers.CharField()
    buffer_value = serializers.DecimalField(max_digits=7, decimal_places=2)
    node_types = serializers.ListField(child=serializers.CharField())
    store_capabilities = serializers.ListField(child=serializers.CharField())
    is_default = serializers.BooleanField(help_text="True while the channel has no rule of its own.")
