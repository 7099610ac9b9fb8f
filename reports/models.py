"""The KPI daily rollup and the ERP export records.

The rollup holds, per (day, merchant, channel), the additive parts each KPI is made of
(counts, sums, and the cycle-time histogram in quarter-hours), so any range is the sum of its
days and percentiles stay exact (docs/KPIS.md). A day is rolled up by a beat job and can be
recomputed at any time (`reports.rollup.kpi_day_rollup`).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from oms.models import Channel, Merchant


class KpiDay(models.Model):
    day = models.DateField()
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    # Anchored on the day of each KPI's own event (docs/KPIS.md).
    fos_packed = models.PositiveIntegerField(default=0)
    fos_accurate = models.PositiveIntegerField(default=0)
    orders_captured = models.PositiveIntegerField(default=0)
    orders_backordered = models.PositiveIntegerField(default=0)
    orders_shipped = models.PositiveIntegerField(default=0)
    orders_split = models.PositiveIntegerField(default=0)
    units_ordered = models.PositiveIntegerField(default=0)
    units_first_shipped = models.PositiveIntegerField(default=0)
    shipping_cost = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    handling_cost = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    orders_delivered = models.PositiveIntegerField(default=0)
    orders_on_time = models.PositiveIntegerField(default=0)
    orders_perfect = models.PositiveIntegerField(default=0)
    units_shipped = models.PositiveIntegerField(default=0, help_text="In parcels shipped that day.")

    class Meta:
        verbose_name = "KPI dashboard"
        verbose_name_plural = "KPI dashboard"
        constraints = [models.UniqueConstraint(fields=["day", "merchant", "channel"], name="kpi_day_once")]
        permissions = [
            ("view_kpis", "Can see the KPI dashboard"),
            ("view_exception_kpis", "Can see the exception and SLA KPIs"),
            ("view_finance_export", "Can see and download the finance and ERP exports"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.merchant_id}/{self.channel_id}"


class KpiCycleBucket(models.Model):
    """Orders of one (day, merchant, channel) whose capture-to-ship time fell in the quarter-hour
    starting at `minutes` (reports.kpis.sql.CYCLE_STEP)."""

    day = models.DateField()
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    minutes = models.PositiveIntegerField()
    orders = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "merchant", "channel", "minutes"], name="kpi_cycle_bucket_once")
        ]


class KpiRollupRun(models.Model):
    """A day whose rollup rows are complete (for every merchant); other days are computed live."""

    day = models.DateField(primary_key=True)
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.day} rolled up at {self.computed_at:%Y-%m-%d %H:%M}"


class ErpRecord(models.Model):
    """One line of the ERP export (docs/FINANCE.md): an order, an invoice or a credit note.

    Written per business day by a beat job; the id is the API's cursor, so an ERP reading
    `?after=<last id>` gets every record exactly once, in the order they were written.
    """

    class Kind(models.TextChoices):
        ORDER = "order"
        INVOICE = "invoice"  # one per shipment
        CREDIT_NOTE = "credit_note"  # one per succeeded refund

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    source_id = models.PositiveBigIntegerField(help_text="The order, shipment or refund id.")
    document = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "ERP export record"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["kind", "source_id"], name="erp_record_once")]
        indexes = [models.Index(fields=["merchant", "id"], name="erp_record_cursor")]

    def __str__(self) -> str:
        return f"{self.kind} {self.source_id}"
