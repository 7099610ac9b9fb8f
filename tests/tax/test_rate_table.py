"""The rate-table tax provider: the most specific rate wins; a channel's declared tax outside
the merchant's tolerance puts the order on a tax hold; refunds carry their tax part."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.tax.providers import RateTableProvider
from tests.factories import (
    OrderFactory,
    OrderLineFactory,
    TaxRateFactory,
    TaxSettingsFactory,
)
from tests.payments.helpers import place, reached_ready

pytestmark = pytest.mark.django_db


def quote(order):
    return RateTableProvider().calculate_order(order=order)


@pytest.fixture
def order():
    order = OrderFactory(shipping_price=Decimal("10.00"))
    OrderLineFactory(order=order, unit_price=Decimal("100.00"), quantity=1)
    return order


def test_it_computes_nothing_without_rates_for_the_destination(order):
    TaxRateFactory(merchant=order.merchant, country="DE", region="", rate=Decimal("0.19"))
    assert quote(order) is None


def test_a_region_beats_the_country_and_a_longer_postal_prefix_a_shorter_one(order):
    TaxRateFactory(merchant=order.merchant, country="US", region="", rate=Decimal("0.01"), name="federal-ish")
    assert quote(order).total == Decimal("1.10")
    TaxRateFactory(merchant=order.merchant, region="CA", rate=Decimal("0.0725"))
    assert quote(order).lines == {order.lines.get().pk: Decimal("7.25")}
    TaxRateFactory(merchant=order.merchant, region="CA", postal_prefix="941", rate=Decimal("0.08625"))
    TaxRateFactory(merchant=order.merchant, region="CA", postal_prefix="9", rate=Decimal("0.05"))
    result = quote(order)
    assert (result.lines[order.lines.get().pk], result.shipping) == (Decimal("8.63"), Decimal("0.86"))


def test_a_rate_for_the_products_tax_code_beats_the_default(order):
    line = order.lines.get()
    TaxRateFactory(merchant=order.merchant, region="CA", rate=Decimal("0.0725"))
    TaxRateFactory(merchant=order.merchant, region="CA", tax_code="PC040100", rate=Decimal("0"))
    line.product.tax_category = "PC040100"  # the product's tax code
    line.product.save()
    result = quote(order)
    assert result.lines[line.pk] == Decimal("0.00")
    assert result.shipping == Decimal("0.73"), "shipping follows the place's default rate"


def test_shipping_is_not_taxed_where_the_region_says_so(order):
    TaxRateFactory(merchant=order.merchant, region="CA", rate=Decimal("0.0725"), shipping_taxable=False)
    assert quote(order).shipping == Decimal("0")


def test_declared_tax_within_tolerance_passes(api, django_capture_on_commit_callbacks):
    # The payload declares 3.40 on 39.98 of goods and no shipping tax: 8.5 %, shipping exempt.
    TaxRateFactory(merchant=api.merchant, region="CA", rate=Decimal("0.085"), shipping_taxable=False)
    order, _ = place(api, django_capture_on_commit_callbacks)
    assert reached_ready(order)


def test_declared_tax_outside_tolerance_holds_the_order(api, django_capture_on_commit_callbacks):
    TaxRateFactory(merchant=api.merchant, region="CA", rate=Decimal("0.0725"), shipping_taxable=False)
    order, response = place(api, django_capture_on_commit_callbacks)
    assert response["status"] == "on_hold"
    hold = order.holds.get()
    assert hold.type == "tax"
    # At the currency's precision, with its code (stored amounts carry three decimals).
    assert hold.reason == (
        "Declared tax 3.40 USD differs from the computed 2.90 USD for US/CA/94105 by 0.50 USD (tolerance 0.05 USD)."
    )
    assert hold.details["tolerance"] == "0.05"


def test_the_tolerance_is_per_merchant(api, django_capture_on_commit_callbacks):
    TaxRateFactory(merchant=api.merchant, region="CA", rate=Decimal("0.0725"), shipping_taxable=False)
    TaxSettingsFactory(merchant=api.merchant, tolerance=Decimal("1.00"))
    order, _ = place(api, django_capture_on_commit_callbacks)
    assert reached_ready(order)


def test_a_refund_of_lines_carries_the_providers_tax(api, django_capture_on_commit_callbacks):
    TaxRateFactory(merchant=api.merchant, region="CA", rate=Decimal("0.085"), shipping_taxable=False)
    order, _ = place(api, django_capture_on_commit_callbacks)
    line = order.lines.get()
    response = api.client.post(
        f"/api/v1/orders/{order.number}/refunds/",
        {"amount": "21.69", "reason": "Returned one", "lines": [{"line": line.pk, "quantity": 1}]},
        format="json",
    )
    assert response.json()["tax_amount"] == "1.70"  # 19.99 × 8.5 %


def test_a_refund_without_lines_carries_the_orders_tax_share(api, django_capture_on_commit_callbacks):
    order, _ = place(api, django_capture_on_commit_callbacks)
    response = api.client.post(
        f"/api/v1/orders/{order.number}/refunds/", {"amount": "48.38", "reason": "All of it"}, format="json"
    )
    assert response.json()["tax_amount"] == "3.40"
