"""Demo catalogue and network: about 50 SKUs, 3 distribution centres and 5 stores."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

from django.utils import timezone

from inventory.models import Node, Product, StockLevel
from inventory.services import stock_counts_apply, stock_settings_update
from oms.actors import Actor
from oms.models import Merchant

# code, name, type, street, city, region, postal code, latitude, longitude
NODES = [
    ("DC-EAST", "East DC (Edison)", Node.Type.DC, "300 Mill Rd", "Edison", "NJ", "08837", "40.5187", "-74.4121"),
    ("DC-CENTRAL", "Central DC (Memphis)", Node.Type.DC, "4600 E Shelby Dr", "Memphis", "TN", "38118", "35.0395", "-89.9284"),
    ("DC-WEST", "West DC (Ontario)", Node.Type.DC, "5000 E Jurupa St", "Ontario", "CA", "91761", "34.0335", "-117.6012"),
    ("STORE-SF", "San Francisco Union Square", Node.Type.STORE, "170 O'Farrell St", "San Francisco", "CA", "94102", "37.7862", "-122.4075"),
    ("STORE-NYC", "New York Herald Square", Node.Type.STORE, "151 W 34th St", "New York", "NY", "10001", "40.7506", "-73.9890"),
    ("STORE-CHI", "Chicago Michigan Ave", Node.Type.STORE, "835 N Michigan Ave", "Chicago", "IL", "60611", "41.8976", "-87.6242"),
    ("STORE-ATX", "Austin Congress Ave", Node.Type.STORE, "600 Congress Ave", "Austin", "TX", "78701", "30.2686", "-97.7428"),
    ("STORE-SEA", "Seattle Pine St", Node.Type.STORE, "1601 3rd Ave", "Seattle", "WA", "98101", "47.6110", "-122.3380"),
]  # fmt: skip

_FAMILIES = [
    ("TSHIRT", "T-shirt", ["RED", "BLUE", "BLACK", "WHITE"], ["S", "M", "L", "XL"]),
    ("HOODIE", "Hoodie", ["GREY", "NAVY", "GREEN"], ["S", "M", "L", "XL"]),
    ("MUG", "Mug", ["WHITE", "BLACK", "RED", "BLUE"], [""]),
    ("CAP", "Cap", ["BLACK", "NAVY", "RED", "KHAKI"], [""]),
    ("SOCKS", "Socks", ["BLACK", "WHITE", "GREY"], ["M", "L"]),
    ("TOTE", "Tote bag", ["NATURAL", "BLACK", "NAVY", "RED"], [""]),
    ("BOTTLE", "Water bottle", ["STEEL", "BLACK", "BLUE", "GREEN"], [""]),
]
PRICES = {"TSHIRT": Decimal("19.99"), "HOODIE": Decimal("49.00"), "MUG": Decimal("12.50"), "CAP": Decimal("18.00"),
          "SOCKS": Decimal("9.99"), "TOTE": Decimal("15.00"), "BOTTLE": Decimal("24.00")}  # fmt: skip


TIME_ZONES = {"NJ": "America/New_York", "NY": "America/New_York", "TN": "America/Chicago", "IL": "America/Chicago",
              "TX": "America/Chicago", "CA": "America/Los_Angeles", "WA": "America/Los_Angeles"}  # fmt: skip
# Units per SKU at each kind of node; a few SKUs have none anywhere, so backorders show up.
DC_UNITS, STORE_UNITS = 60, 6
OUT_OF_STOCK = {"BOTTLE-GREEN", "HOODIE-GREEN-XL"}


def ean13(body: str) -> str:
    """Append the EAN-13 check digit to a 12-digit body."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def catalog() -> list[tuple[str, str]]:
    """(sku, name) for every demo product."""
    items = []
    for code, label, colours, sizes in _FAMILIES:
        for colour in colours:
            for size in sizes:
                sku = "-".join(part for part in (code, colour, size) if part)
                name = f"{colour.title()} {label}" + (f" {size}" if size else "")
                items.append((sku, name))
    return items


def seed_catalog(merchant: Merchant) -> dict[str, Product]:
    products = {}
    for index, (sku, name) in enumerate(catalog()):
        products[sku], _ = Product.objects.get_or_create(
            merchant=merchant, sku=sku, defaults={"name": name, "barcode": ean13(f"0012345{index:05d}")}
        )
    return products


def seed_network(merchant: Merchant) -> list[Node]:
    nodes = []
    for code, name, type, line1, city, region, postal_code, lat, lng in NODES:
        node, _ = Node.objects.get_or_create(
            code=code,
            defaults={
                "name": name, "type": type, "line1": line1, "city": city, "region": region,
                "postal_code": postal_code, "country": "US", "latitude": Decimal(lat), "longitude": Decimal(lng),
                "capabilities": (
                    ["ship", "pickup", "ship_from_store", "receive_returns"]
                    if type == Node.Type.STORE
                    else ["ship", "receive_returns"]
                ),
                "ships_to": ["US"],
                "time_zone": TIME_ZONES[region],
                "cutoff_time": time(15, 0) if type == Node.Type.DC else time(12, 0),
                "daily_capacity": 2000 if type == Node.Type.DC else 100,
                "priority": 1 if type == Node.Type.DC else 2,
                "owner": merchant if type == Node.Type.STORE else None,
            },
        )  # fmt: skip
        node.merchants.add(merchant)
        nodes.append(node)
    return nodes


def seed_stock(nodes: list[Node], products: dict[str, Product]) -> None:
    """Count stock in at every node once (through the ledger), unless the node has some already."""
    actor = Actor.system("seed_demo")
    for node in nodes:
        if StockLevel.objects.filter(node=node).exists():
            continue
        units = DC_UNITS if node.type == Node.Type.DC else STORE_UNITS
        counts = [(p, 0 if sku in OUT_OF_STOCK else units) for sku, p in sorted(products.items())]
        stock_counts_apply(node=node, counts=counts, actor=actor, reason="demo opening count")
        # Bins for the pick lists: aisles A-F, ten bays, three levels, in catalogue order.
        for i, stock in enumerate(StockLevel.objects.filter(node=node).order_by("product__sku")):
            stock_settings_update(
                stock=stock, actor=actor, bin_location=f"{'ABCDEF'[i // 30 % 6]}-{i // 3 % 10 + 1:02d}-{i % 3 + 1}"
            )


def seed_stock_activity(merchant: Merchant) -> None:
    """A channel availability rule, a damage write-off and a store's full count (snapshot)."""
    from inventory.models import ChannelRule, Snapshot, StockAdjustment
    from inventory.services.sync import adjustments_apply, snapshot_submit
    from oms.idempotency import request_fingerprint
    from oms.models import Channel

    actor = Actor.system("seed_demo")
    marketplace = Channel.objects.filter(merchant=merchant, code="marketplace").first()
    if marketplace is not None:
        ChannelRule.objects.get_or_create(
            channel=marketplace, defaults={"buffer_value": Decimal(2), "node_types": ["dc"]}
        )
    if not StockAdjustment.objects.filter(merchant=merchant).exists():
        adjustments_apply(merchant=merchant, actor=actor, items=[
            {"id": "DEMO-DAMAGE-1", "sku": "MUG-WHITE", "node": "DC-EAST", "quantity": -2, "reason": "damage"}])  # fmt: skip
    if not Snapshot.objects.filter(merchant=merchant).exists():
        store = Node.objects.get(code="STORE-SEA")
        counts = [{"sku": row.product.sku, "on_hand": row.on_hand}
                  for row in StockLevel.objects.filter(node=store).select_related("product").order_by("product__sku")]  # fmt: skip
        data = {"id": "DEMO-COUNT-SEA-1", "node": store.code, "as_of": timezone.now(), "counts": counts}
        snapshot_submit(merchant=merchant, data=data, actor=actor, fingerprint=request_fingerprint(
            {**data, "as_of": data["as_of"].isoformat()}))  # fmt: skip
