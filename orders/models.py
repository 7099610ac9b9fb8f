"""Customers, orders and their lines, the order timeline, holds and payments.

The order's `status` is a django-fsm state machine (docs/STATE_MACHINES.md). Transitions only
change fields; the services in `orders/services/` run them inside a transaction together with
the timeline row and the outbox event.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Expression, F, Q, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Concat, Upper
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from inventory.models import Node, Product
from oms.models import Channel, Merchant
from oms.money import money_text


class Customer(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="customers")
    email = models.EmailField()
    phone = models.CharField(max_length=20, blank=True, help_text="E.164")
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["email"]
        constraints = [models.UniqueConstraint(fields=["merchant", "email"], name="customer_unique_email")]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return f"{name} <{self.email}>" if name else self.email


class OrderStatus(models.TextChoices):
    RECEIVED = "received"
    VALIDATED = "validated"
    ON_HOLD = "on_hold"
    READY = "ready"
    ALLOCATED = "allocated"
    PARTIALLY_ALLOCATED = "partially_allocated"
    BACKORDERED = "backordered"
    RELEASED = "released"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    READY_FOR_PICKUP = "ready_for_pickup"
    PICKED_UP = "picked_up"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


S = OrderStatus
# A hold may stop an order in any of these states: everything before all of it has shipped.
HOLDABLE = [
    S.RECEIVED, S.VALIDATED, S.READY, S.ALLOCATED, S.PARTIALLY_ALLOCATED, S.BACKORDERED,
    S.RELEASED, S.PARTIALLY_SHIPPED, S.READY_FOR_PICKUP,
]  # fmt: skip
# Nothing has shipped yet: the whole order can still be cancelled.
CANCELLABLE = [
    S.RECEIVED, S.VALIDATED, S.ON_HOLD, S.READY, S.ALLOCATED, S.PARTIALLY_ALLOCATED,
    S.BACKORDERED, S.RELEASED, S.READY_FOR_PICKUP,
]  # fmt: skip
# Routed: some or all of the open quantity has been placed (or found no stock).
ROUTED = [S.ALLOCATED, S.PARTIALLY_ALLOCATED, S.BACKORDERED]
# Amendable: not yet released to a node.
AMENDABLE = [
    S.RECEIVED, S.VALIDATED, S.ON_HOLD, S.READY, S.ALLOCATED, S.PARTIALLY_ALLOCATED,
    S.BACKORDERED,
]  # fmt: skip


class ServiceLevel(models.TextChoices):
    STANDARD = "standard"
    EXPRESS = "express"
    NEXT_DAY = "next_day"
    PICKUP = "pickup"


class FulfillmentType(models.TextChoices):
    SHIP = "ship"
    PICKUP = "pickup"


def velocity_email(email: Expression) -> Expression:
    """The e-mail key the fraud velocity rule counts recent orders by (case-insensitive)."""
    return Upper(email)


def velocity_address(line1: Expression, postal_code: Expression, country: Expression) -> Expression:
    """The shipping-address key of the velocity rule: line 1 (case-insensitive), postal code, country."""
    return Concat(Upper(line1), Value("|"), postal_code, Value("|"), country, output_field=TextField())


def _address_part(name: str) -> Expression:
    return KeyTextTransform(name, "shipping_address")


# The same expressions build the indexes below and the rule's lookups (orders/fraud/rules.py), so
# that PostgreSQL matches them: the velocity counts read one key's orders of the window, never
# the merchant's whole window.
ORDER_EMAIL_KEY = velocity_email(F("email"))
ORDER_ADDRESS_KEY = velocity_address(_address_part("line1"), _address_part("postal_code"), _address_part("country"))


class Order(ConcurrentTransitionMixin, models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="orders")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="orders")
    number = models.CharField(max_length=32)
    external_id = models.CharField(max_length=100)
    # The channel's own name for the order (Shopify "#1001"): shown to CSRs and searchable.
    channel_order_name = models.CharField(max_length=100, blank=True, db_index=True)
    status = FSMField(default=S.RECEIVED, choices=S.choices, protected=True, db_index=True)
    status_before_hold = models.CharField(max_length=30, choices=S.choices, blank=True)
    placed_at = models.DateTimeField()
    currency = models.CharField(max_length=3)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    email = models.EmailField()
    phone = models.CharField(max_length=20, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    shipping_address = models.JSONField(null=True, blank=True)
    billing_address = models.JSONField(null=True, blank=True)
    service_level = models.CharField(max_length=20, choices=ServiceLevel.choices)
    fulfillment_type = models.CharField(max_length=10, choices=FulfillmentType.choices, default=FulfillmentType.SHIP)
    pickup_node = models.ForeignKey(Node, null=True, blank=True, on_delete=models.PROTECT)
    shipping_price = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(0))
    shipping_tax = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(0))
    total = models.DecimalField(max_digits=12, decimal_places=3)
    promise_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    # Fingerprint of the capture request: a repeat must match it to be the same order.
    request_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # True on the instance a capture returns when it carries the whole order page as written
    # (orders/services/capture.py): the 201 is rendered from it, without reading it back.
    page_in_memory = False

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "channel", "external_id"], name="order_once_per_external_id"),
            models.UniqueConstraint(fields=["merchant", "number"], name="order_unique_number"),
        ]
        indexes = [
            models.Index(fields=["merchant", "-created_at"], name="order_merchant_recent"),
            # Order search matches a postal code whole (orders.search); the trigram indexes of the
            # other searched columns are PostgreSQL-only (migration 0004).
            models.Index(Upper(KeyTextTransform("postal_code", "shipping_address")), name="order_postal_code"),
            models.Index(F("merchant"), ORDER_EMAIL_KEY, F("created_at"), name="order_velocity_email"),
            models.Index(F("merchant"), ORDER_ADDRESS_KEY, F("created_at"), name="order_velocity_address"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def customer_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    # Transitions: field changes only; orders.services run them (docs/STATE_MACHINES.md).

    @transition(field=status, source=S.RECEIVED, target=S.VALIDATED)
    def validate(self) -> None:
        pass

    @transition(field=status, source=HOLDABLE, target=S.ON_HOLD, custom={"admin": True, "label": "Place hold"})
    def place_hold(self) -> None:
        self.status_before_hold = self.status

    @transition(
        field=status,
        source=S.ON_HOLD,
        target=RETURN_VALUE(*HOLDABLE),
        custom={"admin": True, "label": "Resolve a hold"},
    )
    def resume(self) -> str:
        previous, self.status_before_hold = self.status_before_hold, ""
        return previous

    @transition(field=status, source=S.VALIDATED, target=S.READY)
    def mark_ready(self) -> None:
        """The payment rule for allocation is met (orders.payments.services.order_advance)."""

    @transition(field=status, source=CANCELLABLE, target=S.CANCELLED, custom={"admin": True, "label": "Cancel order"})
    def cancel(self) -> None:
        self.status_before_hold = ""

    # Routing (fulfillment.routing runs these as the lines land, the target from orders/status.py).
    # Re-allocation moves between them; a re-route after a node rejects or loses stock comes back
    # from released.

    @transition(field=status, source=[S.READY, *ROUTED, S.RELEASED], target=S.ALLOCATED)
    def allocate(self) -> None:
        pass

    @transition(field=status, source=[S.READY, *ROUTED, S.RELEASED], target=S.PARTIALLY_ALLOCATED)
    def allocate_partially(self) -> None:
        pass

    @transition(field=status, source=[S.READY, *ROUTED, S.RELEASED], target=S.BACKORDERED)
    def backorder(self) -> None:
        pass

    # Fulfilment (fulfillment.execution runs these; the header follows the lines, orders/status.py).

    @transition(field=status, source=[S.ALLOCATED, S.PARTIALLY_ALLOCATED], target=S.RELEASED)
    def release(self) -> None:
        pass

    # A released part may ship while re-routing has moved the header back to an allocation state.
    @transition(field=status, source=[S.RELEASED, S.PARTIALLY_SHIPPED, *ROUTED], target=S.PARTIALLY_SHIPPED)
    def ship_partially(self) -> None:
        pass

    @transition(field=status, source=[S.RELEASED, S.PARTIALLY_SHIPPED, *ROUTED], target=S.SHIPPED)
    def ship(self) -> None:
        pass

    @transition(field=status, source=S.SHIPPED, target=S.DELIVERED)
    def deliver(self) -> None:
        pass

    @transition(field=status, source=S.RELEASED, target=S.READY_FOR_PICKUP)
    def await_pickup(self) -> None:
        pass

    @transition(field=status, source=S.READY_FOR_PICKUP, target=S.PICKED_UP)
    def collect(self) -> None:
        pass

    @transition(field=status, source=[S.DELIVERED, S.PICKED_UP], target=S.COMPLETED)
    def complete(self) -> None:
        pass


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT)
    sku = models.CharField("SKU", max_length=64)
    name = models.CharField(max_length=255)
    bundle = models.CharField(max_length=64, blank=True)
    unit_price = models.DecimalField(max_digits=12, decimal_places=3)
    discount = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(0))
    tax = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(0))
    quantity = models.PositiveIntegerField(help_text="Ordered")
    qty_cancelled = models.PositiveIntegerField(default=0)
    qty_allocated = models.PositiveIntegerField(default=0)
    qty_backordered = models.PositiveIntegerField(default=0)
    qty_shipped = models.PositiveIntegerField(default=0)
    qty_delivered = models.PositiveIntegerField(default=0)
    qty_returned = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "position"]
        constraints = [
            models.CheckConstraint(
                condition=Q(qty_cancelled__lte=models.F("quantity") - models.F("qty_shipped")),
                name="line_cancel_only_unshipped",
            )
        ]

    def __str__(self) -> str:
        return f"{self.order.number}#{self.position} {self.sku} × {self.quantity}"

    @property
    def qty_open(self) -> int:
        """Units neither cancelled nor shipped: what can still be cancelled or amended."""
        return self.quantity - self.qty_cancelled - self.qty_shipped

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity - self.discount + self.tax


class TimelineRow(models.Model):
    """A row of a timeline (an order's, a return's): a transition, a domain event or a change."""

    name = models.CharField(max_length=60)
    from_status = models.CharField(max_length=30, blank=True)
    to_status = models.CharField(max_length=30, blank=True)
    reason = models.TextField(blank=True)
    actor_kind = models.CharField(max_length=10)
    actor_label = models.CharField(max_length=150)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]


class OrderEvent(TimelineRow):
    """One row of an order's timeline: a transition, a domain event or an admin change."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")

    class Meta(TimelineRow.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.order_id} {self.name}"


class Hold(models.Model):
    class Type(models.TextChoices):
        ADDRESS = "address"
        PAYMENT = "payment"
        FRAUD = "fraud"
        INVENTORY = "inventory"
        TAX = "tax"
        MANUAL = "manual"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="holds")
    type = models.CharField(max_length=20, choices=Type.choices)
    reason = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_by = models.CharField(max_length=150, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["created_at"], name="hold_open", condition=Q(resolved_at__isnull=True))]
        # A hold that must be fixed (an address) may instead be released by an override, which a
        # CSR asks for with a written reason and a CSR lead approves.
        permissions = [("approve_hold_override", "Can approve releasing a hold by override")]

    def __str__(self) -> str:
        return f"{self.get_type_display()} hold on {self.order.number}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class PaymentStatus(models.TextChoices):
    PENDING = "pending"
    AUTHORIZED = "authorized"
    PARTIALLY_CAPTURED = "partially_captured"
    CAPTURED = "captured"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"
    FAILED = "failed"
    EXPIRED = "expired"


P = PaymentStatus
# Money was captured and may be refunded.
REFUNDABLE = [P.PARTIALLY_CAPTURED, P.CAPTURED, P.PARTIALLY_REFUNDED]
# An authorization still stands and may be captured.
CAPTURABLE = [P.AUTHORIZED, P.PARTIALLY_CAPTURED]


def never_authorized(payment: Payment) -> bool:
    return not payment.authorized_amount


class Payment(ConcurrentTransitionMixin, models.Model):
    """A payment instruction from the channel: one per tender (split tender allowed).

    The token is a gateway token (an authorization or a charge the channel obtained), never a
    card number. Amounts only grow through orders.payments.services, under the row lock.
    """

    class TransactionType(models.TextChoices):
        AUTHORIZE = "authorize"
        CAPTURE = "capture"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    gateway = models.CharField(max_length=30)
    transaction_type = models.CharField(max_length=10, choices=TransactionType.choices)
    token = models.CharField(max_length=255)
    amount = models.DecimalField(max_digits=12, decimal_places=3)
    currency = models.CharField(max_length=3)
    status = FSMField(default=P.PENDING, choices=P.choices, protected=True)
    authorized_amount = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(0))
    captured_amount = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(0))
    refunded_amount = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(0))
    # Refunds sent to the gateway whose outcome is not known yet: reserved against captured.
    refund_pending_amount = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(0))
    voided_amount = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(0))
    authorization_reference = models.CharField(max_length=255, blank=True)
    authorization_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            # Invariant 4: refunds (done or in flight) never exceed what was captured.
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0)
                & Q(refund_pending_amount__gte=0)
                & Q(refunded_amount__lte=models.F("captured_amount") - models.F("refund_pending_amount")),
                name="payment_refund_within_captured",
            ),
            models.CheckConstraint(
                condition=Q(captured_amount__lte=models.F("authorized_amount")),
                name="payment_capture_within_authorized",
            ),
        ]
        indexes = [
            models.Index(
                fields=["authorization_expires_at"],
                name="payment_auth_expiry",
                condition=Q(status__in=["authorized", "partially_captured"]),
            ),
            # The fraud velocity rule counts the recent orders paid with one token.
            models.Index(fields=["token", "created_at"], name="payment_token_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.transaction_type} {money_text(self.amount, self.currency)}"

    @property
    def capturable_amount(self) -> Decimal:
        if self.status not in CAPTURABLE:
            return Decimal(0)
        return self.authorized_amount - self.captured_amount - self.voided_amount

    @property
    def refundable_amount(self) -> Decimal:
        if self.status not in REFUNDABLE:
            return Decimal(0)
        return self.captured_amount - self.refunded_amount - self.refund_pending_amount

    # Transitions: field changes only; orders.payments.services run them.

    @transition(field=status, source=P.PENDING, target=P.AUTHORIZED)
    def authorize(self, amount: Decimal) -> None:
        self.authorized_amount = amount

    @transition(field=status, source=P.PENDING, target=P.CAPTURED)
    def record_charge(self, amount: Decimal) -> None:
        """The channel already took the money (a `capture` payment)."""
        self.authorized_amount = self.captured_amount = amount

    @transition(field=status, source=CAPTURABLE, target=RETURN_VALUE(P.PARTIALLY_CAPTURED, P.CAPTURED))
    def capture(self, amount: Decimal) -> str:
        self.captured_amount += amount
        if self.captured_amount + self.voided_amount >= self.authorized_amount:
            return P.CAPTURED
        return P.PARTIALLY_CAPTURED

    @transition(field=status, source=CAPTURABLE, target=RETURN_VALUE(P.VOIDED, P.CAPTURED))
    def void(self) -> str:
        """Release the uncaptured rest of the authorization."""
        self.voided_amount = self.authorized_amount - self.captured_amount
        return P.CAPTURED if self.captured_amount else P.VOIDED

    @transition(field=status, source=REFUNDABLE, target=RETURN_VALUE(P.PARTIALLY_REFUNDED, P.REFUNDED))
    def refund(self, amount: Decimal) -> str:
        self.refund_pending_amount -= amount
        self.refunded_amount += amount
        return P.REFUNDED if self.refunded_amount >= self.captured_amount else P.PARTIALLY_REFUNDED

    @transition(field=status, source=[P.PENDING, *CAPTURABLE], target=P.FAILED)
    def fail(self) -> None:
        pass

    @transition(field=status, source=CAPTURABLE, target=P.EXPIRED)
    def expire(self) -> None:
        pass

    @transition(field=status, source=[P.FAILED, P.EXPIRED], target=RETURN_VALUE(*CAPTURABLE))
    def reopen(self) -> str:
        """A retry or a new token: the authorization stands again."""
        return P.PARTIALLY_CAPTURED if self.captured_amount else P.AUTHORIZED

    # A payment whose first authorization was declined (an amendment's increase) has nothing to
    # reopen: it is asked for again, or given up when what it was for is cancelled.

    @transition(field=status, source=P.FAILED, target=P.PENDING, conditions=[never_authorized])
    def ask_again(self) -> None:
        """Retry the declined authorization (the same token or a new one)."""

    @transition(field=status, source=P.FAILED, target=P.VOIDED, conditions=[never_authorized])
    def withdraw(self) -> None:
        """Nothing is left to authorize: the lines it was for were cancelled."""


# Models of the payments, fraud and tax sub-packages live in their own modules (same app).
from orders.channels.models import *  # noqa: E402, F403
from orders.fraud.models import *  # noqa: E402, F403
from orders.notes.models import *  # noqa: E402, F403
from orders.payments.models import *  # noqa: E402, F403
from orders.tax.models import *  # noqa: E402, F403
