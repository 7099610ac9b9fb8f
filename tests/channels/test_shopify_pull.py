"""Pulling orders from a Shopify-format server: paging, mapping, exactly once, resumable."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oms.models import OpsException
from orders.channels.models import ChannelSkuMap, SyncRun
from orders.channels.services.intake import TOO_LATE
from orders.channels.services.sync import SYNC_FAILED, channel_pull
from orders.models import Order
from tests.channels.servers import shopify_order

pytestmark = pytest.mark.django_db


def test_it_pulls_pages_by_link_and_maps_an_order_field_by_field(api, shop, shopify_server):
    shopify_server.orders = [shopify_order(n) for n in range(1, 4)]
    run = channel_pull(connection_id=shop.pk)
    assert (run.status, run.fetched, run.created, run.rejected) == ("ok", 3, 3, 0), run.rejections
    order = Order.objects.get(channel__code="shopify", external_id="5600000000001")  # 64-bit id, exact
    assert order.channel_order_name == "#1001"
    assert order.email == "buyer1@example.com"
    assert order.total == Decimal("24.84")  # 20.00 - 2.00 discount + 1.44 tax + 5.00 shipping + 0.40 tax
    line = order.lines.get()
    assert (line.sku, line.unit_price, line.discount, line.tax) == ("TSHIRT-RED-M", 20, 2, Decimal("1.44"))
    assert (order.shipping_price, order.shipping_tax) == (Decimal(5), Decimal("0.40"))
    assert order.shipping_address["city"] == "Springfield"
    assert order.payments.get().transaction_type == "capture"  # financial_status paid
    first = shopify_server.calls("GET", r".*/orders\.json")[0]
    assert first["headers"]["X-Shopify-Access-Token"] == "shpat_test"
    assert (first["query"]["status"], first["query"]["limit"]) == ("any", "250")
    learned = ChannelSkuMap.objects.get(connection=shop, sku="TSHIRT-RED-M")
    assert learned.variant_id == "44000000000001"


def test_orders_are_found_by_a_part_of_the_channels_name_in_the_api_and_the_admin(api, shop, shopify_server, csr):
    shopify_server.orders = [shopify_order(1), shopify_order(7), shopify_order(30)]  # #1001, #1007, #1030
    channel_pull(connection_id=shop.pk)
    for query in ({"channel_order_name": "#100"}, {"q": "#100"}):
        found = api.client.get("/api/v1/orders/", query).json()
        assert sorted(o["channel_order_name"] for o in found["results"]) == ["#1001", "#1007"]
    page = csr.get("/admin/orders/order/", {"q": "#100"})
    assert page.status_code == 200
    shown = {o.channel_order_name for o in page.context["cl"].result_list}
    assert shown == {"#1001", "#1007"}
    assert "#1001" in page.content.decode()  # the list shows the channel's name


def test_a_second_run_creates_nothing_and_the_cursor_narrows_the_query(api, shop, shopify_server):
    shopify_server.orders = [shopify_order(n) for n in range(1, 6)]
    channel_pull(connection_id=shop.pk)
    again = channel_pull(connection_id=shop.pk)
    assert (again.created, Order.objects.count()) == (0, 5)
    query = shopify_server.calls("GET", r".*/orders\.json")[-1]["query"]
    assert query["updated_at_min"].startswith("2026-01-05T09:00:00")  # newest (09:05) minus the 5 min overlap


def test_an_order_that_fails_validation_is_rejected_with_its_reasons_and_others_go_on(api, shop, shopify_server):
    shopify_server.orders = [shopify_order(1, sku="NO-SUCH-SKU"), shopify_order(2)]
    run = channel_pull(connection_id=shop.pk)
    assert (run.created, run.rejected) == (1, 1)
    assert run.rejections[0]["external_id"] == "5600000000001"
    assert run.rejections[0]["errors"][0]["field"] == "lines[0].sku"
    assert not ChannelSkuMap.objects.filter(sku="NO-SUCH-SKU").exists()  # nothing learned from it


def test_a_soft_problem_becomes_a_hold(api, shop, shopify_server):
    shop.options = {"service_levels": {"FEDEX_OVERNIGHT": "next_day"}}
    shop.save()
    order = shopify_order(1)
    order["shipping_address"]["address1"] = "PO Box 12"
    order["shipping_lines"][0]["code"] = "FEDEX_OVERNIGHT"
    shopify_server.orders = [order]
    assert channel_pull(connection_id=shop.pk).created == 1
    assert Order.objects.get().holds.filter(type="address").exists()


def test_a_crash_after_page_two_resumes_without_duplicates(api, shop, shopify_server, monkeypatch):
    monkeypatch.setattr("orders.channels.connectors.shopify.PAGE_SIZE", 2)
    shopify_server.orders = [shopify_order(n) for n in range(1, 7)]
    pulls = lambda: shopify_server.calls("GET", r".*/orders\.json")  # noqa: E731
    shopify_server.drop_connection_on(lambda r: "page_info" in r["query"] and len(pulls()) == 3)
    crashed = channel_pull(connection_id=shop.pk)
    assert (crashed.status, crashed.created, Order.objects.count()) == ("failed", 4, 4)
    assert OpsException.objects.filter(type=SYNC_FAILED, status="open").count() == 1
    resumed = channel_pull(connection_id=shop.pk)
    assert resumed.status == "ok"
    assert Order.objects.count() == 6
    assert resumed.created == 2
    assert OpsException.objects.get(type=SYNC_FAILED).status == "resolved"


def test_a_429_pauses_the_channel_and_is_waited_out(api, shop, shopify_server):
    shopify_server.orders = [shopify_order(1)]
    shopify_server.throttle_once(retry_after=1)
    paused = channel_pull(connection_id=shop.pk)
    assert paused.status == SyncRun.Status.PAUSED
    shop.refresh_from_db()
    assert shop.paused_until is not None
    assert channel_pull(connection_id=shop.pk) is None  # still paused: no call made
    assert len(shopify_server.requests) == 1
    shop.paused_until = shop.paused_until.replace(year=2000)
    shop.save()
    assert channel_pull(connection_id=shop.pk).created == 1


def test_a_nearly_full_call_bucket_pauses_before_the_next_page(api, shop, shopify_server, monkeypatch):
    monkeypatch.setattr("orders.channels.connectors.shopify.PAGE_SIZE", 1)
    shopify_server.orders = [shopify_order(1), shopify_order(2)]
    shopify_server.bucket_used = 39
    run = channel_pull(connection_id=shop.pk)
    assert (run.status, run.created) == ("paused", 1)
    assert "9.5" in run.message  # (39 - 20) calls / 2 per second


def test_a_cancellation_on_the_channel_cancels_the_order(api, shop, shopify_server):
    shopify_server.orders = [shopify_order(1)]
    channel_pull(connection_id=shop.pk)
    later = "2026-01-05T10:00:00+00:00"
    shopify_server.orders = [shopify_order(1, cancelled_at=later, updated_at=later)]
    run = channel_pull(connection_id=shop.pk)
    assert run.updated == 1
    assert Order.objects.get().status == "cancelled"


def test_an_address_change_on_the_channel_amends_the_order(api, shop, shopify_server):
    shopify_server.orders = [shopify_order(1)]
    channel_pull(connection_id=shop.pk)
    moved = {**shopify_order(1)["shipping_address"], "address1": "9 Elm St"}
    shopify_server.orders = [shopify_order(1, shipping_address=moved, updated_at="2026-01-05T10:00:00+00:00")]
    assert channel_pull(connection_id=shop.pk).updated == 1
    assert Order.objects.get().shipping_address["line1"] == "9 Elm St"


def test_a_cancellation_that_comes_too_late_raises_an_exception_for_a_csr(api, shop, shopify_server):
    shopify_server.orders = [shopify_order(1)]
    channel_pull(connection_id=shop.pk)
    Order.objects.update(status="shipped")  # as if it had left the warehouse meanwhile
    later = "2026-01-05T10:00:00+00:00"
    shopify_server.orders = [shopify_order(1, cancelled_at=later, updated_at=later)]
    run = channel_pull(connection_id=shop.pk)
    assert (run.updated, run.rejected) == (0, 1)
    assert Order.objects.get().status == "shipped"
    alert = OpsException.objects.get(type=TOO_LATE)
    assert "#1001" in alert.message


def test_a_channel_that_keeps_failing_raises_one_exception(api, shop, shopify_server):
    shopify_server.token = "rotated"  # our token no longer opens the shop: 401 on every pull
    assert channel_pull(connection_id=shop.pk).status == "failed"
    assert channel_pull(connection_id=shop.pk).status == "failed"
    alert = OpsException.objects.get(type=SYNC_FAILED)
    assert alert.status == "open"
    assert "HTTP 401" in alert.message
    assert "shpat_test" not in alert.message  # credentials never reach a message


def test_prices_that_include_tax_are_taken_as_they_are(api, shop, shopify_server):
    order = shopify_order(1, taxes_included=True)
    order["total_price"] = "23.00"  # 20.00 - 2.00 + 5.00: the tax lines are inside the prices
    shopify_server.orders = [order]
    assert channel_pull(connection_id=shop.pk).created == 1
    captured = Order.objects.get()
    assert (captured.total, captured.lines.get().tax, captured.shipping_tax) == (Decimal("23.00"), 0, 0)


def test_lines_without_a_sku_are_found_by_variant_in_the_sku_map(api, shop, shopify_server):
    from orders.channels.services.connections import sku_map_set

    sku_map_set(connection=shop, sku="TSHIRT-BLUE-M", ids={"variant_id": "44000000000001"})
    order = shopify_order(1)
    order["line_items"][0]["sku"] = None
    shopify_server.orders = [order]
    assert channel_pull(connection_id=shop.pk).created == 1
    assert Order.objects.get().lines.get().sku == "TSHIRT-BLUE-M"


def edited(order, **current_quantities):
    """The order after an edit on Shopify: line items keep `quantity`, `current_quantity` drops."""
    for item in order["line_items"]:
        item["current_quantity"] = current_quantities.get(item["sku"].replace("-", "_"), item["quantity"])
    order["updated_at"] = "2026-01-05T10:00:00+00:00"
    return order


def two_line_order():
    order = shopify_order(1, quantity=3)
    blue = {**order["line_items"][0], "id": 13_000_000_000_999, "sku": "TSHIRT-BLUE-M", "quantity": 1,
            "current_quantity": 1, "fulfillable_quantity": 1, "variant_id": 44_000_000_000_002}  # fmt: skip
    order["line_items"].append(blue)
    return shopify_order(1, quantity=3, line_items=order["line_items"])


def test_a_quantity_lowered_and_a_line_removed_on_the_channel_cancel_those_units(
    api, shop, shopify_server, django_capture_on_commit_callbacks
):
    shopify_server.orders = [two_line_order()]
    assert channel_pull(connection_id=shop.pk).created == 1
    shopify_server.orders = [edited(two_line_order(), TSHIRT_RED_M=1, TSHIRT_BLUE_M=0)]
    with django_capture_on_commit_callbacks(execute=True):
        run = channel_pull(connection_id=shop.pk)
    assert (run.updated, run.rejected) == (1, 0), run.rejections
    order = Order.objects.get()
    assert dict(order.lines.values_list("sku", "qty_cancelled")) == {"TSHIRT-RED-M": 2, "TSHIRT-BLUE-M": 1}
    assert order.status != "cancelled"
    assert order.events.filter(name="lines_amended").exists()  # through the amendment service
    assert not shopify_server.refunds  # the channel's own change is not pushed back to it
    again = channel_pull(connection_id=shop.pk)
    assert (again.updated, again.duplicates) == (0, 1)


def test_units_added_on_the_channel_are_amended_in(api, shop, shopify_server):
    shopify_server.orders = [shopify_order(1, quantity=1)]
    channel_pull(connection_id=shop.pk)
    shopify_server.orders = [edited(shopify_order(1, quantity=3))]
    assert channel_pull(connection_id=shop.pk).updated == 1
    line = Order.objects.get().lines.get()
    assert (line.quantity, line.qty_cancelled) == (3, 0)


def test_a_line_change_after_the_point_of_change_raises_an_exception_for_a_csr(api, shop, shopify_server):
    shopify_server.orders = [shopify_order(1, quantity=3)]
    channel_pull(connection_id=shop.pk)
    Order.objects.update(status="shipped")  # every unit left the warehouse meanwhile
    Order.objects.get().lines.update(qty_shipped=3)
    shopify_server.orders = [edited(shopify_order(1, quantity=3), TSHIRT_RED_M=1)]
    run = channel_pull(connection_id=shop.pk)
    assert (run.updated, run.rejected) == (0, 1)
    assert run.rejections[0]["errors"][0]["code"] == "too_late"
    assert Order.objects.get().lines.get().qty_cancelled == 0
    alert = OpsException.objects.get(type=TOO_LATE)
    assert "changed the lines of" in alert.message
    assert "#1001" in alert.message
