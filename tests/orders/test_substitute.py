"""Substituting a SKU before release, in the API and in the admin: the substitute is validated
like capture, re-priced (the replaced line's tax rate, or the provider's), the payments cover
only the difference (more authorized, or the excess refunded), and the order is routed again."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from fulfillment.routing.models import RoutingDecision
from inventory.models import Node, StockLevel
from oms.permissions import CSR
from orders.models import Order, Payment, Refund
from orders.payments.services import order_amount_due
from tests.admin.test_console import user_in
from tests.factories import ProductFactory, StockLevelFactory
from tests.payments.helpers import ledger, payment, place

pytestmark = pytest.mark.django_db


def substitute(api, hooks, order: Order, sku: str, **extra):
    red = order.lines.get(sku="TSHIRT-RED-M")
    with hooks(execute=True):
        return api.client.patch(
            f"/api/v1/orders/{order.number}/", {"lines": [{"line": red.pk, "sku": sku, **extra}]}, format="json"
        )


def lines(order: Order) -> dict[str, tuple[int, int, int, str, str]]:
    """{sku: (ordered, cancelled, allocated, unit price, tax)}."""
    return {
        line.sku: (line.quantity, line.qty_cancelled, line.qty_allocated, str(line.unit_price), str(line.tax))
        for line in order.lines.all()
    }


def reserved(sku: str) -> int:
    return StockLevel.objects.get(node__code="ACME-DC", product__sku=sku).allocated


@pytest.fixture
def allocated_order(stocked, django_capture_on_commit_callbacks) -> Order:
    order, _ = place(stocked, django_capture_on_commit_callbacks, payment=payment())
    assert order.status == "allocated"
    assert sum(p.captured_amount for p in order.payments.all()) == Decimal("48.38")
    return order


def test_a_substitute_at_the_same_price_moves_the_allocation_and_costs_nothing(
    stocked, allocated_order, django_capture_on_commit_callbacks
):
    response = substitute(stocked, django_capture_on_commit_callbacks, allocated_order, "TSHIRT-BLUE-M")
    assert response.status_code == 200, response.json()
    order = Order.objects.get(pk=allocated_order.pk)
    assert lines(order) == {
        "TSHIRT-RED-M": (2, 2, 0, "19.990", "3.400"),
        "TSHIRT-BLUE-M": (2, 0, 2, "19.990", "3.400"),  # the replaced line's tax rate
    }
    assert (reserved("TSHIRT-RED-M"), reserved("TSHIRT-BLUE-M")) == (0, 2)
    assert order.status == "allocated"
    assert order.routing_decisions.latest("id").trigger == RoutingDecision.Trigger.AMENDMENT
    assert order.payments.count() == 1, "nothing more to authorize"
    assert not Refund.objects.filter(order=order).exists(), "nothing to give back"
    timeline = [e["name"] for e in response.json()["timeline"]]
    assert "lines_amended" in timeline


def test_a_dearer_substitute_authorizes_and_captures_only_the_difference(
    stocked, allocated_order, django_capture_on_commit_callbacks
):
    gold = ProductFactory(merchant=stocked.merchant, sku="TSHIRT-GOLD-M", name="Gold T-shirt M")
    StockLevelFactory(product=gold, node=Node.objects.get(code="ACME-DC"), on_hand=5)
    response = substitute(
        stocked, django_capture_on_commit_callbacks, allocated_order, "TSHIRT-GOLD-M", unit_price="29.99"
    )
    assert response.status_code == 200, response.json()
    order = Order.objects.get(pk=allocated_order.pk)
    # 2 x 29.99 + tax at the red line's rate (3.40 on 39.98: 5.10) = 65.08, less 43.38 replaced.
    assert lines(order)["TSHIRT-GOLD-M"] == (2, 0, 2, "29.990", "5.100")
    difference = Payment.objects.filter(order=order).latest("pk")
    assert (difference.authorized_amount, difference.captured_amount) == (Decimal("21.70"), Decimal("21.70"))
    assert order_amount_due(order) == Decimal("70.08")
    assert [e.amount for e in ledger("capture")][-1] == Decimal("21.70")


def test_a_cheaper_substitute_refunds_the_difference(stocked, allocated_order, django_capture_on_commit_callbacks):
    response = substitute(
        stocked, django_capture_on_commit_callbacks, allocated_order, "TSHIRT-BLUE-M", unit_price="9.99"
    )
    assert response.status_code == 200, response.json()
    order = Order.objects.get(pk=allocated_order.pk)
    # 2 x 9.99 + 1.70 tax = 21.68 instead of 43.38: 21.70 goes back to the customer.
    assert lines(order)["TSHIRT-BLUE-M"] == (2, 0, 2, "9.990", "1.700")
    assert [r.amount for r in Refund.objects.filter(order=order)] == [Decimal("21.70")]
    assert order.payments.count() == 1


@pytest.mark.parametrize(
    ("sku", "code"), [("NOPE", "unknown_sku"), ("TSHIRT-OLD-M", "inactive_sku")]
)  # fmt: skip
def test_a_substitute_is_validated_like_capture(
    stocked, allocated_order, django_capture_on_commit_callbacks, sku, code
):
    ProductFactory(merchant=stocked.merchant, sku="TSHIRT-OLD-M", active=False)
    response = substitute(stocked, django_capture_on_commit_callbacks, allocated_order, sku)
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("lines[0].sku", code)]
    assert lines(Order.objects.get(pk=allocated_order.pk)) == {"TSHIRT-RED-M": (2, 0, 2, "19.990", "3.400")}


def test_a_csr_substitutes_a_sku_in_the_admin(client, stocked, allocated_order, django_capture_on_commit_callbacks):
    client.force_login(user_in(CSR))
    red = allocated_order.lines.get(sku="TSHIRT-RED-M")
    url = reverse("admin:orders_order_change_lines", args=[allocated_order.pk])
    form = client.get(url).content.decode()
    assert f'name="substitute_{red.pk}"' in form
    assert "Blank: the line&#x27;s price (19.99 USD)." in form
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            {f"quantity_{red.pk}": 2, f"substitute_{red.pk}": "TSHIRT-BLUE-M", f"substitute_price_{red.pk}": "9.99",
             "reason": "Red is sold out at the customer's store"},
        )  # fmt: skip
    assert response.status_code == 302
    order = Order.objects.get(pk=allocated_order.pk)
    assert lines(order)["TSHIRT-BLUE-M"] == (2, 0, 2, "9.990", "1.700")
    assert (reserved("TSHIRT-RED-M"), reserved("TSHIRT-BLUE-M")) == (0, 2)
    assert [r.amount for r in Refund.objects.filter(order=order)] == [Decimal("21.70")]
    page = client.get(response.url).content.decode()
    assert "TSHIRT-RED-M → TSHIRT-BLUE-M" in page
    assert "-21.70 USD" in page, "the timeline says the difference"
