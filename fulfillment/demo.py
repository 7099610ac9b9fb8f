"""Demo carriers: three plausible carriers with services, rate cards, surcharges and their
own tracking codes; plus fulfilment settings for the demo merchant. Idempotent."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

from fulfillment.carriers.models import (
    Carrier,
    CarrierService,
    CarrierStatusCode,
    RateBreak,
    RateCard,
    RateZone,
    Surcharge,
)
from fulfillment.execution.models import FulfillmentSettings, NodeProfile
from inventory.models import Node
from oms.models import Merchant

WEIGHT_BREAKS = [Decimal(w) for w in ("0.5", "1", "2", "5", "10", "20", "30")]
WEIGHT_FACTORS = [Decimal(f) for f in ("1.00", "1.08", "1.25", "1.70", "2.40", "3.60", "4.80")]
# Distance bands (km) shared by the distance-based cards: zone 1 .. 8.
BANDS = [(0, 80), (80, 250), (250, 500), (500, 1000), (1000, 1500), (1500, 2000), (2000, 2800), (2800, None)]

# code, name, tracking prefix, webhook secret (demo only), zone basis, fuel %, residential, status codes
CARRIERS = [
    ("parcelo", "Parcelo", "PX", "whsec_demo_parcelo", "distance", "8.50", "3.95",
     {"LC": "label_created", "PU": "carrier_pickup", "IT": "in_transit", "AF": "in_transit", "OFD": "out_for_delivery",
      "DL": "delivered", "EX": "exception", "AP": "available_for_pickup", "RS": "returned_to_sender"}),
    ("swift", "Swift Courier", "SW", "whsec_demo_swift", "postal_prefix", "6.00", "4.50",
     {"created": "label_created", "picked_up": "carrier_pickup", "departed_facility": "in_transit",
      "arrived_at_facility": "in_transit", "with_courier": "out_for_delivery", "delivered": "delivered",
      "delivery_attempted": "exception", "held_at_location": "available_for_pickup", "return_to_sender": "returned_to_sender"}),
    ("metropost", "Metro Post", "MP", "whsec_demo_metropost", "distance", "0.00", "0.00",
     {"10": "label_created", "20": "carrier_pickup", "30": "in_transit", "40": "out_for_delivery", "50": "delivered",
      "60": "available_for_pickup", "90": "exception", "99": "returned_to_sender"}),
]  # fmt: skip

# carrier, code, name, service levels, transit days by zone 1..8, cut-off, zone-1 price, price step per zone, on-time
SERVICES = [
    ("parcelo", "ground", "Ground", ["standard"], [1, 2, 3, 3, 4, 5, 5, 6], time(17, 0), "6.10", "0.75", None),
    ("parcelo", "express", "Express 2Day", ["express", "standard"], [1, 1, 2, 2, 2, 2, 2, 2], time(16, 0), "12.40", "1.60", None),
    ("parcelo", "overnight", "Overnight", ["next_day", "express"], [1, 1, 1, 1, 1, 1, 1, 1], time(15, 0), "24.00", "3.80", None),
    ("swift", "economy", "Economy", ["standard"], [2, 3, 3, 4, 5, 5, 6, 7], time(18, 0), "5.40", "0.70", None),
    ("swift", "priority", "Priority", ["express", "standard"], [1, 1, 2, 2, 3, 3, 3, 3], time(16, 30), "10.90", "1.40", None),
    ("metropost", "standard", "Standard Mail", ["standard"], [2, 3, 4, 5, 6, 7, 7, 8], time(17, 30), "4.60", "0.55", "0.8200"),
]  # fmt: skip


def _card(service: CarrierService, basis: str, fuel: str, residential: str, base: Decimal, step: Decimal) -> None:
    card = RateCard.objects.create(service=service, zone_basis=basis, fuel_percent=Decimal(fuel))
    if basis == "distance":
        RateZone.objects.bulk_create(
            RateZone(rate_card=card, zone=i + 1, min_km=lo, max_km=hi) for i, (lo, hi) in enumerate(BANDS)
        )
    else:
        # ZIP first digits: the further apart the regions, the higher the zone (1 .. 8).
        RateZone.objects.bulk_create(
            RateZone(rate_card=card, zone=min(abs(o - d), 7) + 1, origin_prefix=str(o), destination_prefix=str(d))
            for o in range(10)
            for d in range(10)
        )
    RateBreak.objects.bulk_create(
        RateBreak(
            rate_card=card,
            zone=zone,
            max_weight_kg=weight,
            price=((base + step * (zone - 1)) * factor).quantize(Decimal("0.01")),
        )
        for zone in range(1, 9)
        for weight, factor in zip(WEIGHT_BREAKS, WEIGHT_FACTORS, strict=True)
    )
    if Decimal(residential):
        Surcharge.objects.create(rate_card=card, code="residential", applies="residential", amount=Decimal(residential))
    Surcharge.objects.create(
        rate_card=card, code="heavy", applies="overweight", amount=Decimal("12.00"), over_kg=Decimal(20)
    )


def seed_carriers() -> list[Carrier]:
    carriers = []
    for code, name, prefix, secret, basis, fuel, residential, codes in CARRIERS:
        carrier, created = Carrier.objects.get_or_create(
            code=code, defaults={"name": name, "tracking_prefix": prefix, "webhook_secret": secret}
        )
        carriers.append(carrier)
        if not created:
            continue
        CarrierStatusCode.objects.bulk_create(
            CarrierStatusCode(carrier=carrier, code=c, milestone=m) for c, m in codes.items()
        )
        for carrier_code, svc, svc_name, levels, transit, cutoff, base, step, on_time in SERVICES:
            if carrier_code != code:
                continue
            service = CarrierService.objects.create(
                carrier=carrier, code=svc, name=svc_name, service_levels=levels, pickup_cutoff=cutoff,
                transit_days={str(z + 1): d for z, d in enumerate(transit)},
                on_time_rate=Decimal(on_time) if on_time else None, on_time_sample=200 if on_time else 0,
            )  # fmt: skip
            _card(service, basis, fuel, residential, Decimal(base), Decimal(step))
    return carriers


# The Seattle store's WMS: release, hold and cancel messages go to it, signed. Its endpoint is on
# the discard port of this machine, and private hosts are refused unless NODE_ALLOW_PRIVATE_HOSTS
# (off by default), so every message fails without leaving it and waits for its retry.
INTEGRATED_NODE = "STORE-SEA"
INTEGRATED_ENDPOINT = "http://127.0.0.1:9/demo-wms/messages"


def seed_fulfillment(merchant: Merchant) -> None:
    seed_carriers()
    FulfillmentSettings.objects.get_or_create(merchant=merchant)
    node = Node.objects.filter(merchants=merchant, code=INTEGRATED_NODE).first()
    if node is not None:  # before the demo orders: their releases to it are its messages
        NodeProfile.objects.get_or_create(
            node=node,
            defaults={"mode": NodeProfile.Mode.INTEGRATED, "endpoint_url": INTEGRATED_ENDPOINT,
                      "secret": "whsec_demo_store_sea"},
        )  # fmt: skip
