"""Products (SKUs), fulfilment nodes, stock levels and the append-only inventory ledger.

Only `inventory.services` writes stock. `StockLevel.on_hand` and `.allocated` are caches of the
ledger: for every row they equal the sums of its movements (`manage.py inventory_audit`).
"""

from __future__ import annotations

import zoneinfo
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from oms.models import Channel, Merchant


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"'{value}' is not an IANA time zone such as America/New_York.")


class Product(models.Model):
    class Unit(models.TextChoices):
        EACH = "each"
        PAIR = "pair"
        PACK = "pack"
        KG = "kg"
        M = "m"

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="products")
    sku = models.CharField("SKU", max_length=64)
    name = models.CharField(max_length=255)
    barcode = models.CharField(max_length=64, blank=True, help_text="Primary GTIN/UPC/EAN.")
    barcodes = models.JSONField(default=list, blank=True, help_text="Further GTIN/UPC/EAN codes.")
    tags = models.JSONField(default=list, blank=True)
    # Sent to the tax provider and matched against its rate table ("tax_code" in the API).
    tax_category = models.CharField(max_length=40, blank=True, help_text="Tax code for the tax provider.")
    unit_of_measure = models.CharField(max_length=10, choices=Unit.choices, default=Unit.EACH)
    weight_kg = models.DecimalField(max_digits=9, decimal_places=3, null=True, blank=True)
    length_cm = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    width_cm = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    height_cm = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    active = models.BooleanField(default=True)
    returnable = models.BooleanField(default=True)
    return_window_days = models.PositiveIntegerField(default=30)
    ship_alone = models.BooleanField(default=False, help_text="Always ships in its own parcel.")
    hazmat = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["merchant_id", "sku"]  # the id: ordering by "merchant" would join its table
        constraints = [models.UniqueConstraint(fields=["merchant", "sku"], name="product_unique_sku")]

    def __str__(self) -> str:
        return self.sku

    @property
    def all_barcodes(self) -> list[str]:
        return [code for code in [self.barcode, *self.barcodes] if code]


class Node(models.Model):
    """A fulfilment location: distribution centre, store or drop-ship vendor."""

    class Type(models.TextChoices):
        DC = "dc", "Distribution centre"
        STORE = "store", "Store"
        DROPSHIP = "dropship", "Drop-ship vendor"

    class Capability(models.TextChoices):
        SHIP = "ship"
        PICKUP = "pickup"
        SHIP_FROM_STORE = "ship_from_store"
        RECEIVE_RETURNS = "receive_returns"

    class GeoPrecision(models.TextChoices):
        MANUAL = "manual"
        POSTAL_CODE = "postal_code"
        REGION = "region"
        UNKNOWN = "unknown"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=10, choices=Type.choices)
    # The merchant that owns and manages it (its stores, its vendors); empty for shared nodes.
    owner = models.ForeignKey(Merchant, null=True, blank=True, on_delete=models.CASCADE, related_name="owned_nodes")
    merchants = models.ManyToManyField(Merchant, related_name="nodes", blank=True)
    line1 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=50, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, default="US")
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    geo_precision = models.CharField(max_length=12, choices=GeoPrecision.choices, default=GeoPrecision.UNKNOWN)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    capabilities = models.JSONField(default=list, blank=True)
    # Where it ships: country codes ("US") or country-region codes ("US-CA"); empty = nowhere.
    ships_to = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=list, blank=True, help_text="Node groups, e.g. east, outlet.")
    daily_capacity = models.PositiveIntegerField(null=True, blank=True, help_text="Orders per day; empty = no limit.")
    cutoff_time = models.TimeField(null=True, blank=True, help_text="Order cut-off in the node's own time zone.")
    handling_cost = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal(0))
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower is preferred.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True, null=True)
    updated_at = models.DateTimeField(auto_now=True, null=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    def serves(self, country: str, region: str = "") -> bool:
        """Return whether the node ships to this destination."""
        country = country.upper()
        return country in self.ships_to or (bool(region) and f"{country}-{region.upper()}" in self.ships_to)


class StockLevel(models.Model):
    """Stock of one SKU at one node. Written only by inventory.services, with a ledger row."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_levels")
    node = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    allocated = models.IntegerField(default=0)
    safety_stock = models.PositiveIntegerField(default=0)
    reorder_threshold = models.PositiveIntegerField(
        null=True, blank=True, help_text="Raise a low-stock exception when ATP falls below this."
    )
    # Set while ATP is below the threshold, so a crossing alerts once, not once per reservation.
    low_stock = models.BooleanField(default=False, editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    bin_location = models.CharField(
        max_length=30, blank=True, help_text="Where the SKU sits at this node, e.g. A-03-2 (pick lists walk by it)."
    )

    class Meta:
        # By id, not by product/node: their orderings would join and sort on every stock query.
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "node"], name="stock_once_per_sku_node"),
            models.CheckConstraint(condition=Q(allocated__gte=0), name="stock_allocated_not_negative"),
            models.CheckConstraint(condition=Q(allocated__lte=F("on_hand")), name="stock_allocated_within_on_hand"),
        ]
        indexes = [models.Index(fields=["node", "product"], name="stock_by_node")]

    def __str__(self) -> str:
        return f"{self.product} @ {self.node}"


class LowStock(StockLevel):
    """The stock rows whose ATP is below their reorder threshold (an admin list)."""

    class Meta:
        proxy = True
        verbose_name = "low-stock item"


class Movement(models.Model):
    """One append-only ledger row: a change of on_hand and/or allocated of one stock row."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt"
        ADJUSTMENT = "adjustment"
        COUNT_CORRECTION = "count_correction"
        ALLOCATION = "allocation"
        DEALLOCATION = "deallocation"
        SHIPMENT = "shipment"
        RETURN_RESTOCK = "return_restock"
        TRANSFER_OUT = "transfer_out"
        TRANSFER_IN = "transfer_in"

    stock = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    on_hand_delta = models.IntegerField(default=0)
    allocated_delta = models.IntegerField(default=0)
    reason = models.CharField(max_length=255, blank=True)
    # Who the movement is for: an order line, a fulfilment order, an RMA, a snapshot... (oms.refs.Ref)
    ref_type = models.CharField(max_length=60, blank=True)
    ref_id = models.CharField(max_length=64, blank=True)
    actor_kind = models.CharField(max_length=10)
    actor_label = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # When it happened, where that is earlier than when it was recorded: a snapshot's count
    # corrections carry the snapshot's as_of. Empty: created_at.
    occurred_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "ledger movement"
        indexes = [
            models.Index(fields=["ref_type", "ref_id"], name="movement_ref"),
            models.Index(fields=["stock", "created_at"], name="movement_stock_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.on_hand_delta:+}/{self.allocated_delta:+} on {self.stock_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValueError("The inventory ledger is append-only.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("The inventory ledger is append-only.")


class ChannelRule(models.Model):
    """How much of a merchant's stock one sales channel may promise."""

    class BufferType(models.TextChoices):
        FIXED = "fixed", "Fixed units"
        PERCENT = "percent", "Percentage of ATP"

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="availability_rule")
    buffer_type = models.CharField(max_length=10, choices=BufferType.choices, default=BufferType.FIXED)
    buffer_value = models.DecimalField(max_digits=7, decimal_places=2, default=Decimal(0))
    node_types = models.JSONField(default=list, help_text="Node types whose stock counts: dc, store, dropship.")
    # A store counts only where one of these is enabled for the channel and the store can do it.
    store_capabilities = models.JSONField(default=list, blank=True, help_text="ship_from_store and/or pickup.")

    class Meta:
        verbose_name = "channel availability rule"

    def __str__(self) -> str:
        return f"Availability rule of {self.channel}"


class StockAdjustment(models.Model):
    """An adjustment sent by a WMS or store system, kept so that its id is applied once."""

    class Reason(models.TextChoices):
        RECEIPT = "receipt"
        DAMAGE = "damage"
        COUNT = "count"
        CORRECTION = "correction"
        TRANSFER = "transfer"

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="stock_adjustments")
    external_id = models.CharField(max_length=100)
    product = models.ForeignKey(Product, on_delete=models.PROTECT)
    node = models.ForeignKey(Node, on_delete=models.PROTECT)
    quantity = models.IntegerField()
    reason = models.CharField(max_length=12, choices=Reason.choices)
    actor_label = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "external_id"], name="adjustment_once_per_id"),
        ]

    def __str__(self) -> str:
        return self.external_id


class Snapshot(models.Model):
    """A full stock count of one node for one merchant, applied in batches by a Celery job."""

    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        COMPLETED = "completed"

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="stock_snapshots")
    external_id = models.CharField(max_length=100)
    node = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="snapshots")
    as_of = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    counts = models.JSONField(default=list, help_text="The rows as received.")
    rows_total = models.PositiveIntegerField(default=0)
    # Set at submission when a SKU (or a malformed row) repeats; only then are rows checked for repeats.
    has_duplicates = models.BooleanField(default=False, editable=False)
    cursor = models.PositiveIntegerField(default=0, help_text="Rows processed so far.")
    rows_applied = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    rows_zeroed = models.PositiveIntegerField(default=0, help_text="SKUs at the node missing from the count.")
    rejections = models.JSONField(default=list, blank=True)
    shortfalls = models.JSONField(default=list, blank=True)
    request_hash = models.CharField(max_length=64)
    actor_label = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "stock snapshot"
        constraints = [models.UniqueConstraint(fields=["merchant", "external_id"], name="snapshot_once_per_id")]
        indexes = [models.Index(fields=["node", "merchant", "as_of"], name="snapshot_node_as_of")]

    def __str__(self) -> str:
        return self.external_id

    @property
    def progress(self) -> float:
        return 1.0 if not self.rows_total else self.cursor / self.rows_total


class AvailabilityState(models.Model):
    """The last availability announced for a SKU (inventory.availability_changed)."""

    product = models.OneToOneField(Product, on_delete=models.CASCADE, primary_key=True, related_name="+")
    payload = models.JSONField(default=dict)
    emitted_at = models.DateTimeField()


class SyncCursor(models.Model):
    """Where a periodic scan got to, so the next run starts there."""

    name = models.CharField(max_length=60, unique=True)
    position = models.DateTimeField()

    def __str__(self) -> str:
        return self.name
