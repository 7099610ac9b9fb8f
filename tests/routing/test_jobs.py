"""Routing is the order chain's step after the payment rule (orders.chain), and runs again when
a hold is resolved. One job takes a captured order through payment, allocation and release."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from fulfillment.routing.models import RoutingDecision
from inventory.models import Node
from oms.models import OutboxEvent
from orders.models import Order
from orders.services.holds import hold_resolve
from orders.services.timeline import run_transition
from tests import payloads
from tests.factories import NodeFactory, StockLevelFactory
from tests.routing.conftest import ACTOR, allocations, path_of

pytestmark = pytest.mark.django_db


def test_the_chain_allocates_a_ready_order_and_its_event_starts_nothing(net, django_capture_on_commit_callbacks):
    from oms.outbox import relay
    from orders.chain import order_chain_run

    net.stock("DC-EAST", "A", 5)
    order = net.order(("A", 2), status="validated")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        run_transition(order, "mark_ready", actor=ACTOR, event_type="order.ready")
    assert not RoutingDecision.objects.filter(order=order).exists(), "order.ready is a fact, not a call"
    order_chain_run(order_id=order.pk)
    order.refresh_from_db()
    assert ("allocate", "ready", "allocated") in path_of(order)
    assert allocations(order) == {"DC-EAST": {"A": 2}}
    assert RoutingDecision.objects.get(order=order).trigger == "ready"
    # Running the chain again, or the events again, changes nothing.
    order_chain_run(order_id=order.pk)
    OutboxEvent.objects.update(dispatched_at=None)
    relay()
    assert RoutingDecision.objects.filter(order=order).count() == 1


def test_one_job_takes_a_captured_order_from_payment_to_release(api, monkeypatch, django_capture_on_commit_callbacks):
    """The capture sends one chain job, handing it the relay's wake-up; that one job runs the
    payment rule, the allocation and the release, each in its own transaction, and sends no
    other job."""
    from oms import outbox
    from orders.tasks import order_chain

    dc = NodeFactory(code="ACME-DC", type=Node.Type.DC, ships_to=["US"], merchants=[api.merchant])
    StockLevelFactory(product=api.red, node=dc, on_hand=10)
    sent = []
    monkeypatch.setattr(outbox, "enqueue_now", lambda task, *args, **kwargs: sent.append((task.name, args)) or True)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.client.post("/api/v1/orders/", payloads.order(external_id="CHAIN-1"), format="json")
    assert response.status_code == 201
    order = Order.objects.get(number=response.json()["number"])
    assert [name for name, _ in sent] == ["orders.tasks.order_chain"]
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        order_chain.apply(args=(order.pk,), kwargs={"wake_relay": True})
    order.refresh_from_db()
    assert order.status == "released"
    names = [name for name, _, _ in path_of(order) if not name.startswith("fulfillment_order_")]
    assert names[names.index("mark_ready") :][:3] == ["mark_ready", "allocate", "release"]
    assert {name for name, _ in sent} == {"oms.tasks.outbox_relay"}, "no job per hop"


def test_a_crash_between_steps_leaves_the_order_where_it_got_and_the_sweeper_resumes_it(net, monkeypatch):
    from orders import chain

    net.stock("DC-EAST", "A", 5)
    order = net.order(("A", 1))
    assert order.status == "ready"
    release = chain._steps["allocated"]

    def crash(order_id, trigger, actor, now):
        raise RuntimeError("worker killed")

    monkeypatch.setitem(chain._steps, "allocated", chain.Step("release", crash, release.due))
    with pytest.raises(RuntimeError):
        chain.order_chain_run(order_id=order.pk)
    assert Order.objects.get(pk=order.pk).status == "allocated", "each step committed on its own"
    monkeypatch.setitem(chain._steps, "allocated", release)
    assert chain.order_chains_due() == 1
    assert Order.objects.get(pk=order.pk).status == "released"
    assert [name for name, _, _ in path_of(order)].count("allocate") == 1


def test_a_chain_job_sent_with_a_stale_status_goes_on_from_the_status_it_finds(net):
    """The job carries the status its sender committed (saving a read); if the order moved on
    meanwhile, the step for that status does nothing under its lock and the chain goes on."""
    from orders.tasks import order_chain

    net.stock("DC-EAST", "A", 5)
    order = net.order(("A", 1))
    assert order.status == "ready"
    order_chain(order.pk, "", "validated")
    assert Order.objects.get(pk=order.pk).status == "released"
    assert [name for name, _, _ in path_of(order)] == ["allocate", "fulfillment_order_release", "release"]


def test_a_captured_order_is_allocated_end_to_end(api, django_capture_on_commit_callbacks):
    dc = NodeFactory(code="ACME-DC", type=Node.Type.DC, ships_to=["US"], merchants=[api.merchant])
    StockLevelFactory(product=api.red, node=dc, on_hand=10)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.client.post("/api/v1/orders/", payloads.order(external_id="E2E-1"), format="json")
    assert response.status_code == 201
    order = Order.objects.get(number=response.json()["number"])
    names = [name for name, _, _ in path_of(order) if not name.startswith("fulfillment_order_")]
    assert names[names.index("mark_ready") :][:3] == ["mark_ready", "allocate", "release"]
    body = api.client.get(f"/api/v1/orders/{order.number}/").json()
    assert body["lines"][0]["allocations"] == [{"node": "ACME-DC", "quantity": 2}]
    assert body["lines"][0]["backordered"] == 0
    assert body["promise_date"] is not None  # computed by routing: the channel sent none


def test_resolving_a_hold_routes_the_order_again(net, django_capture_on_commit_callbacks):
    net.stock("DC-WEST", "A", 5)
    net.stock("DC-CENTRAL", "B", 5)
    net.policy({"name": "Complete", "ship_complete": True, "failure_action": "hold"})
    order = net.order(("A", 1), ("B", 1))
    from fulfillment.routing.services import order_allocate

    order_allocate(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == "on_hold"
    net.stock("DC-WEST", "B", 5)  # a CSR moved stock, then resolves the hold
    with django_capture_on_commit_callbacks(execute=True):
        hold_resolve(hold=order.holds.get(), actor=ACTOR, note="Stock moved to DC-WEST")
    order.refresh_from_db()
    assert allocations(order) == {"DC-WEST": {"A": 1, "B": 1}}
    assert RoutingDecision.objects.filter(order=order).latest("id").trigger == "hold_resolved"
    assert order.total == Decimal("39.98")
