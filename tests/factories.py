"""factory-boy factories for every model; parents stay consistent through SubFactory."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from inventory.models import Node, Product
from oms.models import Channel, Merchant, OpsException, OutboxEvent
from orders.models import Customer, Hold, Order, OrderEvent, OrderLine, OrderStatus, Payment


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"m{n}")
    name = factory.LazyAttribute(lambda o: f"Merchant {o.code}")
    order_prefix = factory.LazyAttribute(lambda o: o.code.upper()[:6])


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ("merchant", "code")

    merchant = factory.SubFactory(MerchantFactory)
    code = "web"
    name = "Web store"
    kind = Channel.Kind.WEB


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    merchant = factory.SubFactory(MerchantFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.LazyAttribute(lambda o: f"Product {o.sku}")
    barcode = factory.Sequence(lambda n: f"{400000000000 + n:012d}")


class NodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Node
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"NODE-{n}")
    name = factory.LazyAttribute(lambda o: f"Node {o.code}")
    type = Node.Type.DC
    line1 = "1 Warehouse Way"
    city = "Reno"
    region = "NV"
    postal_code = "89501"
    latitude = Decimal("39.529600")
    longitude = Decimal("-119.813800")
    capabilities = factory.LazyAttribute(lambda o: ["ship", "pickup"] if o.type == Node.Type.STORE else ["ship"])

    @factory.post_generation
    def merchants(self, create: bool, extracted: list[Merchant] | None, **kwargs: object) -> None:
        if create and extracted:
            self.merchants.add(*extracted)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    merchant = factory.SubFactory(MerchantFactory)
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    first_name = "Ana"
    last_name = "Silva"


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    merchant = factory.SubFactory(MerchantFactory)
    channel = factory.SubFactory(ChannelFactory, merchant=factory.SelfAttribute("..merchant"))
    customer = factory.SubFactory(CustomerFactory, merchant=factory.SelfAttribute("..merchant"))
    number = factory.Sequence(lambda n: f"T-{n:06d}")
    external_id = factory.Sequence(lambda n: f"EXT-{n}")
    status = OrderStatus.VALIDATED
    placed_at = factory.LazyFunction(timezone.now)
    currency = "USD"
    email = factory.SelfAttribute("customer.email")
    first_name = "Ana"
    last_name = "Silva"
    shipping_address = factory.LazyFunction(
        lambda: {
            "first_name": "Ana",
            "last_name": "Silva",
            "line1": "1 Market St",
            "city": "San Francisco",
            "region": "CA",
            "postal_code": "94105",
            "country": "US",
        }
    )
    service_level = "standard"
    total = Decimal("39.98")
    request_hash = "factory"


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    position = factory.Sequence(lambda n: n + 1)
    product = factory.SubFactory(ProductFactory, merchant=factory.SelfAttribute("..order.merchant"))
    sku = factory.SelfAttribute("product.sku")
    name = factory.SelfAttribute("product.name")
    unit_price = Decimal("19.99")
    quantity = 2


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    order = factory.SubFactory(OrderFactory)
    gateway = "sandbox"
    transaction_type = Payment.TransactionType.AUTHORIZE
    token = "tok_visa_ok"
    amount = factory.SelfAttribute("order.total")
    currency = factory.SelfAttribute("order.currency")


class HoldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hold

    order = factory.SubFactory(OrderFactory, status=OrderStatus.ON_HOLD, status_before_hold=OrderStatus.VALIDATED)
    type = Hold.Type.MANUAL
    reason = "Customer asked us to wait"
    created_by = "factory"


class OrderEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderEvent

    order = factory.SubFactory(OrderFactory)
    name = "validate"
    actor_kind = "system"
    actor_label = "factory"


class OutboxEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutboxEvent

    type = "order.validated"
    merchant = factory.SubFactory(MerchantFactory)
    subject_type = "orders.order"
    subject_id = "1"


class OpsExceptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpsException

    merchant = factory.SubFactory(MerchantFactory)
    type = "manual_hold"
    subject_type = "orders.order"
    subject_id = factory.Sequence(str)
    message = "Needs a look"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    is_staff = True
    password = factory.django.Password("pw-for-tests-only")


# --- inventory -------------------------------------------------------------------------------


class StockLevelFactory(factory.django.DjangoModelFactory):
    """A stock row whose on_hand is backed by a receipt in the ledger (so the audit balances)."""

    class Meta:
        model = "inventory.StockLevel"
        skip_postgeneration_save = True

    product = factory.SubFactory(ProductFactory)
    node = factory.SubFactory(NodeFactory)
    on_hand = 0
    allocated = 0

    @factory.post_generation
    def ledger(self, create: bool, extracted: object, **kwargs: object) -> None:
        from inventory.models import Movement

        if create and (self.on_hand or self.allocated):
            Movement.objects.create(
                stock=self,
                kind=Movement.Kind.RECEIPT,
                on_hand_delta=self.on_hand,
                allocated_delta=self.allocated,
                reason="factory",
                ref_type="tests.factory" if self.allocated else "",
                ref_id="1" if self.allocated else "",
                actor_kind="system",
                actor_label="factory",
            )


class MovementFactory(factory.django.DjangoModelFactory):
    """A bare ledger row (it does not change its stock row: use the services for that)."""

    class Meta:
        model = "inventory.Movement"

    stock = factory.SubFactory(StockLevelFactory)
    kind = "adjustment"
    actor_kind = "system"
    actor_label = "factory"


class ChannelRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inventory.ChannelRule"

    channel = factory.SubFactory(ChannelFactory)
    node_types = factory.LazyFunction(lambda: ["dc", "store", "dropship"])
    store_capabilities = factory.LazyFunction(lambda: ["ship_from_store"])


class StockAdjustmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inventory.StockAdjustment"

    merchant = factory.SubFactory(MerchantFactory)
    external_id = factory.Sequence(lambda n: f"ADJ-{n}")
    product = factory.SubFactory(ProductFactory, merchant=factory.SelfAttribute("..merchant"))
    node = factory.SubFactory(NodeFactory)
    quantity = 1
    reason = "correction"
    actor_label = "factory"


class SnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inventory.Snapshot"

    merchant = factory.SubFactory(MerchantFactory)
    external_id = factory.Sequence(lambda n: f"SNAP-{n}")
    node = factory.SubFactory(NodeFactory)
    as_of = factory.LazyFunction(timezone.now)
    request_hash = "factory"
    actor_label = "factory"


# Payments, fraud and tax (orders.payments, orders.fraud, orders.tax).


class MerchantPaymentSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "orders.MerchantPaymentSettings"
        django_get_or_create = ("merchant",)

    merchant = factory.SubFactory(MerchantFactory)
    capture_timing = "before_allocation"


class RefundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "orders.Refund"

    order = factory.SubFactory(OrderFactory)
    amount = Decimal("10.00")
    currency = factory.SelfAttribute("order.currency")
    reason = "Customer appeasement"
    created_by = "factory"


class PaymentTransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "orders.PaymentTransaction"

    payment = factory.SubFactory(PaymentFactory)
    kind = "capture"
    amount = factory.SelfAttribute("payment.amount")
    currency = factory.SelfAttribute("payment.currency")
    token = factory.SelfAttribute("payment.token")
    idempotency_key = factory.Sequence(lambda n: f"factory-key-{n}")
    outcome = "succeeded"


class SandboxLedgerEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "orders.SandboxLedgerEntry"

    idempotency_key = factory.Sequence(lambda n: f"factory-ledger-{n}")
    kind = "capture"
    token = "tok_visa_ok"
    amount = Decimal("10.00")
    currency = "USD"
    approved = True
    reference = factory.Sequence(lambda n: f"sbx_capt_{n:016x}")


class FraudSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "orders.FraudSettings"
        django_get_or_create = ("merchant",)

    merchant = factory.SubFactory(MerchantFactory)


class DenyListEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "orders.DenyListEntry"

    merchant = factory.SubFactory(MerchantFactory)
    kind = "email"
    value = factory.Sequence(lambda n: f"fraudster{n}@example.com")


class FraudDecisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "orders.FraudDecision"

    order = factory.SubFactory(OrderFactory)
    score = 0
    outcome = "approve"
    review_threshold = 50
    reject_threshold = 90


class TaxSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "orders.TaxSettings"
        django_get_or_create = ("merchant",)

    merchant = factory.SubFactory(MerchantFactory)


class TaxRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "orders.TaxRate"

    merchant = factory.SubFactory(MerchantFactory)
    name = "State sales tax"
    country = "US"
    region = "CA"
    rate = Decimal("0.0725")


class NotificationSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "notifications.NotificationSettings"
        django_get_or_create = ("merchant",)

    merchant = factory.SubFactory(MerchantFactory)


class EmailLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "notifications.EmailLog"

    merchant = factory.SubFactory(MerchantFactory)
    order = factory.SubFactory(OrderFactory, merchant=factory.SelfAttribute("..merchant"))
    event_id = factory.Faker("uuid4")
    event_type = "order.validated"
    template = "order_confirmation"
    recipient = factory.SelfAttribute("order.email")
    sender = "Shop <no-reply@localhost>"
    subject = "Thank you for your order"
    text_body = "Thank you."
    html_body = "<p>Thank you.</p>"


class WebhookSubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "notifications.WebhookSubscription"

    merchant = factory.SubFactory(MerchantFactory)
    url = "http://127.0.0.1:9/hooks"
    event_types = factory.LazyFunction(lambda: ["*"])


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "notifications.WebhookDelivery"

    subscription = factory.SubFactory(WebhookSubscriptionFactory)
    event_id = factory.Faker("uuid4")
    event_type = "order.validated"
    body = '{"type":"order.validated"}'
    next_attempt_at = factory.LazyFunction(timezone.now)
    give_up_at = factory.LazyFunction(lambda: timezone.now() + timezone.timedelta(hours=24))


class WebhookAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "notifications.WebhookAttempt"

    delivery = factory.SubFactory(WebhookDeliveryFactory)
    number = 1
    started_at = factory.LazyFunction(timezone.now)
    duration_ms = 12
    status_code = 200


# Fulfilment: fulfilment orders, node profiles, carriers, rate cards, shipments, tracking.


class FulfillmentSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.FulfillmentSettings"
        django_get_or_create = ("merchant",)

    merchant = factory.SubFactory(MerchantFactory)


class NodeProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.NodeProfile"
        django_get_or_create = ("node",)

    node = factory.SubFactory(NodeFactory)
    pick_sla_hours = 24


class FulfillmentOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.FulfillmentOrder"

    order = factory.SubFactory(OrderFactory, status=OrderStatus.ALLOCATED)
    node = factory.SubFactory(NodeFactory)


class FulfillmentOrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.FulfillmentOrderLine"

    fulfillment_order = factory.SubFactory(FulfillmentOrderFactory)
    order_line = factory.SubFactory(OrderLineFactory, order=factory.SelfAttribute("..fulfillment_order.order"))
    quantity = factory.SelfAttribute("order_line.quantity")


class CarrierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.Carrier"
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"carrier{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())
    tracking_prefix = "TC"
    webhook_secret = factory.Sequence(lambda n: f"whsec_test_{n}")


class CarrierServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.CarrierService"

    carrier = factory.SubFactory(CarrierFactory)
    code = factory.Sequence(lambda n: f"svc{n}")
    name = "Ground"
    service_levels = factory.LazyFunction(lambda: ["standard"])
    transit_days = factory.LazyFunction(lambda: {str(z): z for z in range(1, 9)})


class RateCardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.RateCard"

    service = factory.SubFactory(CarrierServiceFactory)
    zone_basis = "distance"


class RateZoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.RateZone"

    rate_card = factory.SubFactory(RateCardFactory)
    zone = 1
    min_km = Decimal(0)


class RateBreakFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.RateBreak"

    rate_card = factory.SubFactory(RateCardFactory)
    zone = 1
    max_weight_kg = Decimal(5)
    price = Decimal("7.50")


class SurchargeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.Surcharge"

    rate_card = factory.SubFactory(RateCardFactory)
    code = "residential"
    applies = "residential"
    amount = Decimal("3.00")


class CarrierStatusCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.CarrierStatusCode"

    carrier = factory.SubFactory(CarrierFactory)
    code = factory.Sequence(lambda n: f"S{n}")
    milestone = "in_transit"


class ShipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.Shipment"

    fulfillment_order = factory.SubFactory(FulfillmentOrderFactory, status="shipped")
    order = factory.SelfAttribute("fulfillment_order.order")
    service = factory.SubFactory(CarrierServiceFactory)
    carrier = factory.SelfAttribute("service.carrier")
    tracking_number = factory.Sequence(lambda n: f"TC{n:012d}")
    weight_kg = Decimal("1.000")
    billable_weight_kg = Decimal("1.000")
    rate = Decimal("7.50")


class ShipmentLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.ShipmentLine"

    shipment = factory.SubFactory(ShipmentFactory)
    fulfillment_line = factory.SubFactory(
        FulfillmentOrderLineFactory, fulfillment_order=factory.SelfAttribute("..shipment.fulfillment_order")
    )
    order_line = factory.SelfAttribute("fulfillment_line.order_line")
    quantity = 1


class ShipmentDocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.ShipmentDocument"

    shipment = factory.SubFactory(ShipmentFactory)
    kind = "label_zpl"
    content_type = "application/zpl"
    content = b"^XA^XZ\n"


class TrackingEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.TrackingEvent"

    shipment = factory.SubFactory(ShipmentFactory)
    carrier = factory.SelfAttribute("shipment.carrier")
    event_id = factory.Sequence(lambda n: f"evt-{n}")
    carrier_status = "in_transit"
    milestone = "in_transit"
    occurred_at = factory.LazyFunction(timezone.now)


# Routing: policies (versions, strategies, drop-ship rules), flags, zone rates, decisions.


class RoutingPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.RoutingPolicy"

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"Policy {n}")


class RoutingPolicyVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.RoutingPolicyVersion"

    policy = factory.SubFactory(RoutingPolicyFactory)
    number = factory.Sequence(lambda n: n + 1)
    comment = "First version"
    created_by = "factory"


class RoutingStrategyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.RoutingStrategy"

    version = factory.SubFactory(RoutingPolicyVersionFactory)
    position = factory.Sequence(lambda n: n + 1)
    name = "Nearest"
    ranking = factory.LazyFunction(lambda: {"weights": {"distance": 1}})


class DropShipRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.DropShipRule"

    version = factory.SubFactory(RoutingPolicyVersionFactory)
    sku = "GRILL"
    node = factory.SubFactory(NodeFactory, type=Node.Type.DROPSHIP)


class SkuNodeRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.SkuNodeRule"

    product = factory.SubFactory(ProductFactory)
    node = factory.SubFactory(NodeFactory)
    may_route = False


class ShippingZoneRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.ShippingZoneRate"

    service_level = "standard"
    zone = 2
    cost = Decimal("6.25")
    transit_days = 2


class RoutingDecisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.RoutingDecision"

    order = factory.SubFactory(OrderFactory)
    trigger = "ready"
    policy_label = "built-in default"
    outcome = "allocated"
    explanation = "Shipped whole from NODE-1: the only node with it."


class RoutingExclusionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.RoutingExclusion"

    order = factory.SubFactory(OrderFactory)
    node = factory.SubFactory(NodeFactory)
    reason = "rejected its part"


class NodeDailyLoadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.NodeDailyLoad"

    node = factory.SubFactory(NodeFactory)
    day = factory.LazyFunction(lambda: timezone.now().date())


class BackorderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "fulfillment.Backorder"

    order = factory.SubFactory(OrderFactory, status=OrderStatus.BACKORDERED)
    next_attempt_at = factory.LazyFunction(timezone.now)
