"""Demo orders: a few dozen, captured through the real service, in different states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from inventory.models import Product
from oms.actors import Actor
from oms.idempotency import request_fingerprint
from oms.models import Merchant
from orders.api.inputs import OrderIn
from orders.models import Hold, Note, OrderStatus
from orders.notes.services import note_add
from orders.services.cancel import order_cancel
from orders.services.capture import order_capture
from orders.services.holds import hold_place

# first, last, street, city, region, postal code, phone
CUSTOMERS = [
    ("Ana", "Silva", "1 Market St", "San Francisco", "CA", "94105", "+1 415 555 0134"),
    ("Ben", "Carter", "350 5th Ave", "New York", "NY", "10118", "+1 212 555 0147"),
    ("Chloe", "Nguyen", "233 S Wacker Dr", "Chicago", "IL", "60606", "+1 312 555 0162"),
    ("Diego", "Ramirez", "500 E Cesar Chavez St", "Austin", "TX", "78701", "+1 512 555 0175"),
    ("Emma", "Johansson", "400 Broad St", "Seattle", "WA", "98109", "+1 206 555 0188"),
    ("Farah", "Haddad", "1 Beacon St", "Boston", "MA", "02108", "+1 617 555 0191"),
    ("George", "Okafor", "100 Peachtree St NW", "Atlanta", "GA", "30303", "+1 404 555 0103"),
    ("Hana", "Kim", "1 Dr Carlton B Goodlett Pl", "San Francisco", "CA", "94102", "+1 415 555 0116"),
    ("Ivan", "Petrov", "1600 Pennsylvania Ave NW", "Washington", "DC", "20500", "+1 202 555 0129"),
    ("Julia", "Rossi", "200 Santa Monica Pier", "Santa Monica", "CA", "90401", "+1 310 555 0152"),
    ("Kofi", "Mensah", "1000 Vin Scully Ave", "Los Angeles", "CA", "90012", "+1 323 555 0168"),
    ("Lucia", "Fernandez", "1 N State St", "Chicago", "IL", "60602", "+1 773 555 0170"),
]
ORDER_COUNT = 36
PO_BOX = {5, 17}
CANCELLED = {8, 20, 29}
PARTIALLY_CANCELLED = {11, 23}
MANUAL_HOLD = {14}
PICKUP = {3: "STORE-SF", 15: "STORE-NYC", 27: "STORE-CHI"}
_EPOCH = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
_SYSTEM = Actor.system("seed_demo")


def _body(i: int, products: list[Product], prices: dict[str, Decimal]) -> dict[str, Any]:
    first, last, street, city, region, postal_code, phone = CUSTOMERS[i % len(CUSTOMERS)]
    address = {"first_name": first, "last_name": last, "line1": "PO Box 1234" if i in PO_BOX else street,
               "city": city, "region": region, "postal_code": postal_code, "country": "US"}  # fmt: skip
    picked = [products[(i * 7 + k * 11) % len(products)] for k in range(1 + i % 3)]
    lines = []
    for k, product in enumerate(picked):
        price = prices[product.sku.split("-")[0]]
        quantity = 2 if k == 0 and i in PARTIALLY_CANCELLED else 1 + (i + k) % 2
        tax = (price * quantity * Decimal("0.0875")).quantize(Decimal("0.01"))
        lines.append(
            {"sku": product.sku, "quantity": quantity, "unit_price": str(price), "discount": "0.00", "tax": str(tax)}
        )
    level = "pickup" if i in PICKUP else ("express" if i % 5 == 0 or i in PO_BOX else "standard")
    shipping_price = Decimal(0) if level == "pickup" else Decimal("12.00" if level == "express" else "5.00")
    total = (
        sum((Decimal(li["unit_price"]) * li["quantity"] + Decimal(li["tax"]) for li in lines), Decimal(0))
        + shipping_price
    )
    return {
        "channel": "web" if i % 3 else "marketplace",
        "external_id": f"DEMO-{1000 + i}",
        "placed_at": (_EPOCH + timedelta(hours=5 * i)).isoformat(),
        "currency": "USD",
        "customer": {"email": f"{first.lower()}.{last.lower()}@example.com", "phone": phone, "first_name": first, "last_name": last},
        "shipping_address": address,
        "billing_address": address,
        "lines": lines,
        "shipping": {"service_level": level, "price": str(shipping_price), "tax": "0.00"},
        "fulfillment": {"type": "pickup", "location": PICKUP[i]} if i in PICKUP else {"type": "ship"},
        "payments": [{"transaction_type": "capture" if i % 2 else "authorize", "gateway": "sandbox",
                      "token": f"tok_visa_ok_demo{i}", "amount": str(total)}],
        "total": str(total),
        "notes": "",
    }  # fmt: skip


def seed_orders(merchant: Merchant, products: dict[str, Product], prices: dict[str, Decimal]) -> int:
    """Capture the demo orders (a repeat returns the existing one); return how many are new."""
    catalogue = sorted(products.values(), key=lambda p: p.sku)
    created_count = 0
    for i in range(ORDER_COUNT):
        body = _body(i, catalogue, prices)
        # Through the API's own validation, exactly as a channel's order would go.
        serializer = OrderIn(data=body)
        serializer.is_valid(raise_exception=True)
        order, created = order_capture(
            merchant=merchant, data=serializer.validated_data, actor=_SYSTEM, fingerprint=request_fingerprint(body)
        )
        if not created:
            continue
        created_count += 1
        if i in CANCELLED:
            order_cancel(order=order, actor=_SYSTEM, reason="Customer changed their mind")
        elif i in PARTIALLY_CANCELLED:
            first_line = order.lines.order_by("position").first()
            assert first_line is not None
            order_cancel(
                order=order,
                actor=_SYSTEM,
                reason="One unit out of stock",
                lines=[{"line": first_line.pk, "quantity": 1}],
            )
        elif i in MANUAL_HOLD and order.status != OrderStatus.ON_HOLD:
            hold_place(order=order, type=Hold.Type.MANUAL, reason="Customer asked to delay shipping", actor=_SYSTEM)
    return created_count


def seed_order_settings(merchant: Merchant) -> None:
    """The merchant's payment, fraud and tax settings, a deny-list entry and a tax rate."""
    from orders.fraud.models import DenyListEntry, FraudSettings
    from orders.payments.models import MerchantPaymentSettings
    from orders.tax.models import TaxRate, TaxSettings

    MerchantPaymentSettings.objects.get_or_create(merchant=merchant)
    FraudSettings.objects.get_or_create(merchant=merchant)
    TaxSettings.objects.get_or_create(merchant=merchant)
    DenyListEntry.objects.get_or_create(merchant=merchant, kind=DenyListEntry.Kind.EMAIL, value="chargeback@example.com",
                                        defaults={"note": "Two chargebacks in 2026"})  # fmt: skip
    # The rate the demo orders declare (8.75 %, on goods only), so they check out.
    TaxRate.objects.get_or_create(merchant=merchant, country="US", region="", postal_prefix="", tax_code="",
                                  defaults={"name": "Demo flat rate", "rate": Decimal("0.08750"),
                                            "shipping_taxable": False})  # fmt: skip


def _payment_declined(body: dict[str, Any]) -> None:
    body["payments"][0].update(transaction_type="authorize", token="tok_decline")


def _fraud_review(body: dict[str, Any]) -> None:
    # A first order above 1,000 from a disposable address: scored for review, not rejected (a new
    # street, so that it does not also score for velocity with the other demo orders).
    body["customer"]["email"] = "newbuyer@mailinator.com"
    body["shipping_address"] = body["billing_address"] = {**body["shipping_address"], "line1": "500 Howard St"}
    line = body["lines"][0]
    line.update(quantity=60, tax=str((Decimal(line["unit_price"]) * 60 * Decimal("0.0875")).quantize(Decimal("0.01"))))
    _total(body)


def _tax_undeclared(body: dict[str, Any]) -> None:
    for line in body["lines"]:
        line["tax"] = "0.00"
    _total(body)


def _total(body: dict[str, Any]) -> None:
    goods = sum((Decimal(li["unit_price"]) * li["quantity"] + Decimal(li["tax"]) for li in body["lines"]), Decimal(0))
    total = goods + Decimal(body["shipping"]["price"])
    body["total"] = body["payments"][0]["amount"] = str(total)


# Orders that raise the other holds (and their exceptions): each starts as demo order 0 (San
# Francisco, authorize) with one change.
EXCEPTION_ORDERS = {"DEMO-PAYMENT": _payment_declined, "DEMO-FRAUD": _fraud_review, "DEMO-TAX": _tax_undeclared}


def seed_exception_orders(merchant: Merchant, products: dict[str, Product], prices: dict[str, Decimal]) -> int:
    """Capture the orders that end on a payment, fraud and tax hold; return how many are new."""
    catalogue = sorted(products.values(), key=lambda p: p.sku)
    created_count = 0
    for external_id, change in EXCEPTION_ORDERS.items():
        body = _body(0, catalogue, prices)
        body["external_id"] = external_id
        change(body)
        serializer = OrderIn(data=body)
        serializer.is_valid(raise_exception=True)
        order, created = order_capture(
            merchant=merchant, data=serializer.validated_data, actor=_SYSTEM, fingerprint=request_fingerprint(body)
        )
        created_count += created
        # A CSR's note on the first of them, so the notes and the order's timeline show one.
        if created and not Note.objects.filter(customer__merchant=merchant).exists():
            note_add(actor=_SYSTEM, order=order, text="Customer called: ship as soon as the hold clears.")
    return created_count
