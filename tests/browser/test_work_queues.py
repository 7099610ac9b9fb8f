"""A shift in Chromium: a CSR finds orders and works the exception queues; a warehouse user
prints a pick list, picks, and packs two parcels by scanning (one mismatch corrected), then ships."""

from __future__ import annotations

from datetime import timedelta

import pypdfium2
import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from fulfillment.execution.release import order_release
from fulfillment.models import FulfillmentOrder
from fulfillment.tracking.models import Shipment
from inventory.models import StockLevel
from oms.actors import Actor
from oms.models import OpsException
from oms.permissions import CSR, WAREHOUSE, ensure_groups
from orders.models import Hold, Order
from orders.services.holds import hold_place
from tests.browser.conftest import screenshot
from tests.factories import OrderFactory, ProductFactory, UserFactory
from tests.fulfillment.helpers import carriers, dc, fos_of, routed_order, shipped, stock

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
RED, BLUE = "0012345678905", "0012345678912"


def member(username: str, group: str):
    ensure_groups()  # a transactional test starts from emptied tables
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name=group))
    return user


def fraud_review(total: str) -> OpsException:
    order = OrderFactory(total=total)
    hold_place(order=order, type=Hold.Type.FRAUD, reason="fraud score 82: new card, far address",
               actor=Actor.system("fraud"))  # fmt: skip
    return OpsException.objects.get(order_pk=order.pk, type="fraud_hold")


def test_a_csr_finds_an_order_by_a_partial_sku_and_by_its_tracking_number(api, page, login):
    east = dc(api)
    lamp = ProductFactory(
        merchant=api.merchant, sku="LAMP-BRASS-XL", name="Brass reading lamp", barcode="0099887766554"
    )
    stock(lamp, east, 3)
    order = shipped(api, [(lamp, east, 1)])
    OrderFactory.create_batch(3, merchant=api.merchant, channel=api.web)
    tracking = Shipment.objects.get(order=order).tracking_number
    login(member("casey", CSR))

    page.goto("/admin/orders/order/")
    page.fill("#searchbar", "brass-x")
    page.press("#searchbar", "Enter")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert order.number in rows.first.inner_text()

    page.fill("#searchbar", tracking[-6:])
    page.press("#searchbar", "Enter")
    assert page.locator("#result_list tbody tr").count() == 1
    assert order.number in page.locator("#result_list").inner_text()
    screenshot(page, "work-queues/csr-search-by-tracking")


def test_a_csr_works_a_fraud_review_from_the_breaching_soon_queue(page, login, db):
    review = fraud_review("6255.00")
    fraud_review("20.00")
    OpsException.objects.exclude(pk=review.pk).update(first_touch_due_at=timezone.now() + timedelta(hours=3))
    login(member("casey", CSR))

    page.goto("/admin/")
    page.get_by_role("link", name="Breaching soon: 1").click()
    page.wait_for_url("**/opsexception/?queue=breaching_soon")
    row = page.locator("#result_list tbody tr")
    assert row.count() == 1
    assert "High" in row.inner_text()
    assert "first touch in" in row.inner_text()
    screenshot(page, "work-queues/csr-breaching-soon")

    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "assign")
    page.get_by_role("button", name="Go").click()
    assert "Assigned 1 exception(s) to you." in page.locator(".messagelist").inner_text()

    page.goto("/admin/oms/opsexception/?queue=mine")
    page.get_by_role("link", name=f"Fraud review: order {review.order_number}").click()
    page.get_by_role("link", name="Its holds").click()
    page.wait_for_url("**/orders/hold/**")
    page.locator("#result_list").get_by_role("link", name="Fraud", exact=True).click()
    page.fill("#id_resolution_note", "Called the customer: the card is theirs.")
    page.get_by_role("button", name="Save", exact=True).click()

    review.refresh_from_db()
    assert review.status == "resolved"
    assert Order.objects.get(pk=review.order_pk).status != "on_hold"
    page.goto(f"/admin/oms/opsexception/{review.pk}/change/")
    assert "Called the customer" in page.content()
    screenshot(page, "work-queues/csr-fraud-review-resolved")


def test_a_csr_bulk_assigns_three_exceptions(page, login, db):
    chosen = [fraud_review(str(total)) for total in (30, 40, 50)]
    left = fraud_review("60")
    member("dana", CSR)
    login(member("casey", CSR))

    page.goto("/admin/oms/opsexception/?queue=unassigned")
    for exc in chosen:
        page.locator(f"input.action-select[value='{exc.pk}']").check()
    page.select_option("select[name=action]", "assign")
    page.select_option("select[name=assignee]", label="dana")
    page.get_by_role("button", name="Go").click()

    assert "Assigned 3 exception(s) to dana." in page.locator(".messagelist").inner_text()
    assert {e.assignee.username for e in OpsException.objects.filter(pk__in=[e.pk for e in chosen])} == {"dana"}
    assert OpsException.objects.get(pk=left.pk).assignee is None
    screenshot(page, "work-queues/csr-bulk-assign")


def test_a_warehouse_user_prints_a_pick_list_and_packs_two_parcels_by_scanning(api, page, login):
    from playwright.sync_api import expect  # installed wherever the `page` fixture did not skip

    carriers()
    east = dc(api)
    stock(api.red, east, 10)
    stock(api.blue, east, 10)
    StockLevel.objects.filter(node=east, product=api.red).update(bin_location="B-02-1")
    StockLevel.objects.filter(node=east, product=api.blue).update(bin_location="A-07-4")
    order = routed_order(api, [(api.red, east, 2), (api.blue, east, 1)])
    other = routed_order(api, [(api.red, east, 1)])
    order_release(order=order)
    order_release(order=other)
    fo = fos_of(order)[0]
    login(member("pat", WAREHOUSE))

    page.goto("/admin/fulfillment/fulfillmentorder/")
    page.locator("#action-toggle").check()
    page.select_option("select[name=action]", "pick_list_by_bin")
    with page.expect_download() as download:
        page.get_by_role("button", name="Go").click()
    text = pypdfium2.PdfDocument(download.value.path())[0].get_textpage().get_text_range()
    assert "2 fulfilment order(s), 4 unit(s), bin order" in text
    assert text.index("A-07-4") < text.index("B-02-1")

    page.goto("/admin/fulfillment/fulfillmentorder/?status__in=accepted")
    screenshot(page, "work-queues/warehouse-queue")
    page.locator("tr", has_text=order.number).get_by_role("link", name="Pick…").click()
    expect(page.locator("input[name^=picked-]").first).to_be_focused()  # keyboard-first: no click needed
    page.keyboard.press("Enter")  # the counts start at what is to pick: Enter confirms
    page.wait_for_url(f"**/{fo.pk}/act/pack/")

    expect(page.locator("#scan")).to_be_focused()
    for code in (RED, RED, "+", "4006381333931", BLUE):
        if code == "+":  # the key that starts the next parcel
            page.keyboard.press("+")
            continue
        page.fill("#scan", code)
        page.keyboard.press("Enter")
        if code == "4006381333931":
            assert "Scan mismatch: 4006381333931 is not in this order" in page.locator("#scan-msg").inner_text()
            screenshot(page, "work-queues/warehouse-scan-mismatch")
    assert page.locator(".oms-parcel").all_inner_texts() == [
        "Parcel 1: TSHIRT-RED-M × 2",
        "Parcel 2: TSHIRT-BLUE-M × 1",
    ]
    page.keyboard.press("Enter")  # on the empty field: pack and ship

    # The submit navigates: wait for the answer's message rather than read the page it leaves.
    expect(page.locator(".messagelist")).to_contain_text("packed and shipped 2 parcel(s), one label each")
    fo.refresh_from_db()
    assert (fo.status, fo.pack_corrected) == ("shipped", True)
    assert Shipment.objects.filter(fulfillment_order=fo).count() == 2
    assert FulfillmentOrder.objects.get(pk=fos_of(other)[0].pk).status == "accepted"
    screenshot(page, "work-queues/warehouse-shipped")
