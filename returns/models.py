"""Returns (RMAs) with their lines and units, the merchant's reason codes, return settings and
putaway rules, and the records that give money back without a return: claims and appeasements.

The return's `status` is a django-fsm state machine (docs/RETURNS.md). Transitions only change
fields; returns.services run them with the timeline row and the outbox event.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from fulfillment.carriers.models import Carrier
from inventory.models import Node
from oms.models import Merchant
from oms.money import money_text
from orders.models import Order, OrderLine, TimelineRow
from orders.payments.models import Refund


class ShippingRefund(models.TextChoices):
    NEVER = "never", "Never refund shipping"
    PRORATED = "prorated", "Refund the returned goods' share of shipping"
    FULL_RETURN = "full_return", "Refund all shipping once the whole order is returned"


class ReturnSettings(models.Model):
    """A merchant's return policy: shipping refunds, approval limits, exchanges, where returns go."""

    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="return_settings")
    shipping_refund = models.CharField(max_length=15, choices=ShippingRefund.choices, default=ShippingRefund.PRORATED)
    auto_authorize = models.BooleanField(default=True, help_text="Authorize requests that pass every check at once.")
    refund_on_inspection = models.BooleanField(
        default=True, help_text="Refund as soon as a return is inspected; off: Finance refunds from the queue."
    )
    return_node = models.ForeignKey(
        Node, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Where shipped-back returns go; empty: the first active node with receive_returns.",
    )  # fmt: skip
    return_carrier = models.ForeignKey(
        Carrier, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Carrier of return labels; empty: the first active carrier.",
    )  # fmt: skip
    store_instructions = models.TextField(
        blank=True, default="Bring the items with their tags and this return number to the store's service desk."
    )
    ship_back_expiry_days = models.PositiveSmallIntegerField(
        default=30, help_text="An authorized return whose parcel never arrives expires after this many days."
    )
    advance_exchange = models.BooleanField(
        default=False, help_text="Allow releasing replacements before returns arrive."
    )
    advance_exchange_days = models.PositiveSmallIntegerField(
        default=30, help_text="Capture the held authorization when the return has not arrived by then."
    )
    csr_limit = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("50"))
    lead_limit = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("250"))

    class Meta:
        verbose_name = verbose_name_plural = "return settings"

    def __str__(self) -> str:
        return f"Return settings of {self.merchant}"


class ReturnReason(models.Model):
    """A reason code the merchant offers customers; a restocking fee may apply to it."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="return_reasons")
    code = models.SlugField(max_length=40)
    label = models.CharField(max_length=200)
    restocking_fee_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal(0))
    # Our mistake (wrong item sent): counted for order accuracy.
    wrong_item = models.BooleanField(default=False)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["merchant_id", "code"]
        constraints = [models.UniqueConstraint(fields=["merchant", "code"], name="return_reason_unique_code")]

    def __str__(self) -> str:
        return self.code


class Grade(models.TextChoices):
    RESELLABLE = "resellable"
    DAMAGED = "damaged"
    DEFECTIVE = "defective"
    MISSING_PARTS = "missing_parts"


class Disposition(models.TextChoices):
    RESTOCK = "restock", "Restock to this node's ATP"
    RESTOCK_ELSEWHERE = "restock_elsewhere", "Restock to another node"
    QUARANTINE = "quarantine"
    RETURN_TO_VENDOR = "return_to_vendor", "Return to vendor"
    DISPOSE = "dispose"


RESTOCKING = (Disposition.RESTOCK, Disposition.RESTOCK_ELSEWHERE)


class PutawayRule(models.Model):
    """(grade, node) -> disposition. A rule for a node beats the merchant's rule for any node;
    only resellable units may be restocked (returns.services.putaway)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="putaway_rules")
    grade = models.CharField(max_length=15, choices=Grade.choices)
    node = models.ForeignKey(Node, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    disposition = models.CharField(max_length=20, choices=Disposition.choices)
    target_node = models.ForeignKey(Node, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "grade", "node"], name="putaway_rule_once"),
            models.CheckConstraint(
                condition=Q(disposition__in=list(RESTOCKING), grade=Grade.RESELLABLE)
                | ~Q(disposition__in=list(RESTOCKING)),
                name="putaway_only_resellable_restocks",
            ),
            models.CheckConstraint(
                condition=Q(disposition=Disposition.RESTOCK_ELSEWHERE, target_node__isnull=False)
                | ~Q(disposition=Disposition.RESTOCK_ELSEWHERE),
                name="putaway_elsewhere_names_node",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grade} at {self.node or 'any node'}: {self.disposition}"


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested"
    AUTHORIZED = "authorized"
    REJECTED = "rejected"
    IN_TRANSIT = "in_transit"
    ARRIVED = "arrived"
    RECEIVED = "received"
    INSPECTED = "inspected"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


R = ReturnStatus
OPEN = [R.REQUESTED, R.AUTHORIZED, R.IN_TRANSIT, R.ARRIVED, R.RECEIVED, R.INSPECTED]


class Return(ConcurrentTransitionMixin, models.Model):
    class Method(models.TextChoices):
        SHIP_BACK = "ship_back"
        IN_STORE = "in_store"

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="returns")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    number = models.CharField(max_length=48)
    status = FSMField(default=R.REQUESTED, choices=R.choices, protected=True, db_index=True)
    method = models.CharField(max_length=10, choices=Method.choices)
    # The node that receives it: the store (BORIS) or the returns centre the label is addressed to.
    node = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="returns")
    carrier = models.ForeignKey(Carrier, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    tracking_number = models.CharField(max_length=40, blank=True, db_index=True)
    label_pdf = models.BinaryField(null=True, blank=True, editable=False)
    decision_reason = models.TextField(blank=True, help_text="Why it was rejected, or what a CSR decided.")
    refund = models.OneToOneField(Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="rma")
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["merchant", "number"], name="return_unique_number")]
        indexes = [models.Index(fields=["merchant", "status", "created_at"], name="return_queue")]

    def __str__(self) -> str:
        return self.number

    # Transitions: field changes only; returns.services run them.

    @transition(field=status, source=R.REQUESTED, target=R.AUTHORIZED)
    def authorize(self) -> None:
        pass

    @transition(field=status, source=R.REQUESTED, target=R.REJECTED)
    def reject(self) -> None:
        pass

    @transition(field=status, source=R.AUTHORIZED, target=R.IN_TRANSIT)
    def ship(self) -> None:
        """The carrier scanned the return parcel."""

    @transition(field=status, source=[R.AUTHORIZED, R.IN_TRANSIT], target=R.ARRIVED)
    def arrive(self) -> None:
        """The carrier delivered it to the node (not yet counted there)."""

    # BORIS: the customer hands the goods over at the store, straight from authorized.
    @transition(field=status, source=[R.AUTHORIZED, R.IN_TRANSIT, R.ARRIVED], target=R.RECEIVED)
    def receive(self) -> None:
        pass

    @transition(field=status, source=R.RECEIVED, target=R.INSPECTED)
    def inspect(self) -> None:
        pass

    @transition(field=status, source=R.INSPECTED, target=R.COMPLETED)
    def complete(self) -> None:
        pass

    @transition(field=status, source=[R.REQUESTED, R.AUTHORIZED, R.IN_TRANSIT], target=R.CANCELLED)
    def cancel(self) -> None:
        pass


class ReturnLine(models.Model):
    rma = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="return_lines")
    quantity = models.PositiveIntegerField()
    reason = models.ForeignKey(ReturnReason, on_delete=models.PROTECT, related_name="+")
    condition = models.CharField(max_length=20, blank=True, help_text="As the customer declares it.")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["rma", "id"]

    def __str__(self) -> str:
        return f"{self.order_line.sku} × {self.quantity}"


class Receipt(models.TextChoices):
    AWAITING = "awaiting"
    RECEIVED = "received"
    LOST_IN_TRANSIT = "lost_in_transit"
    WRONG_ITEM = "wrong_item"
    SHORT_SHIPPED = "short_shipped"
    EXPIRED = "expired"


class Acceptance(models.TextChoices):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    MANUAL_REVIEW = "manual_review"


class ReturnUnit(models.Model):
    """One unit of a return line, with its two independent outcomes (receipt and acceptance)
    and, after inspection, its grade and where it went."""

    line = models.ForeignKey(ReturnLine, on_delete=models.CASCADE, related_name="units")
    receipt = models.CharField(max_length=20, choices=Receipt.choices, default=Receipt.AWAITING)
    acceptance = models.CharField(max_length=15, choices=Acceptance.choices, default=Acceptance.PENDING)
    acceptance_reason = models.CharField(max_length=300, blank=True)
    scanned_sku = models.CharField(max_length=64, blank=True, help_text="What arrived instead (wrong item).")
    grade = models.CharField(max_length=15, choices=Grade.choices, blank=True)
    disposition = models.CharField(max_length=20, choices=Disposition.choices, blank=True)
    disposition_node = models.ForeignKey(Node, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(null=True, blank=True)
    inspected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["line", "id"]

    def __str__(self) -> str:
        return f"unit {self.pk} of {self.line}"


class ReturnEvent(TimelineRow):
    """One row of a return's timeline: a transition or a step (receipt, inspection, refund)."""

    rma = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="events")

    class Meta(TimelineRow.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.rma_id} {self.name}"


class ApprovalLevel(models.TextChoices):
    CSR = "csr", "CSR"
    LEAD = "lead", "CSR lead"
    FINANCE = "finance", "Finance"


class Approval(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    APPROVED = "approved"
    REJECTED = "rejected"


class Exchange(models.Model):
    """A return plus replacement lines; the replacement is an order of its own, linked here."""

    rma = models.OneToOneField(Return, on_delete=models.CASCADE, related_name="exchange")
    lines = models.JSONField(default=list, help_text="[{sku, quantity, unit_price}] of the replacement.")
    replacement_order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # The customer's token for the difference and the advance hold ({gateway, token}); never a card number.
    payment = models.JSONField(default=dict, blank=True)
    returned_value = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(0))
    replacement_value = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(0))
    # Positive: the customer pays it (collected through the gateway); negative: refunded.
    difference = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(0))
    advance = models.BooleanField(default=False)
    # Advance exchange: the authorization held for the returned goods, captured at the deadline
    # if they have not arrived (a beat job reads capture_due_at: scheduled in the database).
    hold_payment = models.ForeignKey(
        "orders.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    capture_due_at = models.DateTimeField(null=True, blank=True)
    hold_settled = models.CharField(max_length=10, blank=True, help_text="captured | voided")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["capture_due_at"], name="exchange_capture_due", condition=Q(hold_settled=""))]

    @property
    def currency(self) -> str:
        return self.rma.order.currency

    def __str__(self) -> str:
        return f"Exchange for {self.rma}"


class Approvable(models.Model):
    """Money given without a return, on an order, decided by amount (returns.services.approvals)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="%(class)ss")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="%(class)ss")
    reason = models.TextField()
    level = models.CharField(max_length=10, choices=ApprovalLevel.choices, default=ApprovalLevel.CSR)
    status = models.CharField(max_length=10, choices=Approval.choices, default=Approval.PENDING)
    refund = models.OneToOneField(Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="%(class)s")
    created_by = models.CharField(max_length=150)
    decided_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    @property
    def currency(self) -> str:
        return self.order.currency


class Claim(Approvable):
    """Money or a free replacement without a return (damaged in transit, missing, wrong item)."""

    class Kind(models.TextChoices):
        DAMAGED_IN_TRANSIT = "damaged_in_transit"
        MISSING_ITEM = "missing_item"
        WRONG_ITEM = "wrong_item"

    class Resolution(models.TextChoices):
        REFUND = "refund"
        REPLACEMENT = "replacement"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    resolution = models.CharField(max_length=12, choices=Resolution.choices)
    lines = models.JSONField(default=list, help_text="[{line, sku, quantity}]")
    amount = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(0))
    replacement_order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta(Approvable.Meta):
        pass

    def __str__(self) -> str:
        return f"Claim {self.pk} on {self.order}"


class Appeasement(Approvable):
    """A goodwill refund without a return; approved by amount (CSR, CSR lead, Finance)."""

    amount = models.DecimalField(max_digits=12, decimal_places=3)

    class Meta(Approvable.Meta):
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="appeasement_positive")]
        permissions = [
            ("approve_up_to_lead_limit", "Approve appeasements, claims and refunds up to the CSR lead's limit"),
            ("approve_any_amount", "Approve appeasements, claims and refunds of any amount"),
        ]

    def __str__(self) -> str:
        return f"Appeasement {money_text(self.amount, self.order.currency)} on {self.order}"
