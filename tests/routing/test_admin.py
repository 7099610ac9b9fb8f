"""Routing in the admin: the order page's decision, policy versions, decisions read-only."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from fulfillment.routing.models import RoutingDecision, RoutingPolicyVersion
from fulfillment.routing.services import order_allocate
from oms.permissions import ADMIN, CSR
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def login(client, group: str):
    user = UserFactory(username=f"{group.lower()}-routing")
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return user


def test_the_order_page_shows_the_decision_table_and_its_sentence(client, net):
    net.stock("STORE-12", "A", 3)
    net.stock("DC-CENTRAL", "A", 10)
    net.policy({"name": "Keep 2", "filters": {"store_guardrail": 2}})
    order = net.order(("A", 2))
    order_allocate(order_id=order.pk)
    login(client, CSR)
    page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert 'id="card-routing"' in page
    assert "Shipped whole from DC-CENTRAL: the only node with it; STORE-12 kept back by its guardrail." in page
    assert "3 available, keeps 2 back" in page  # the table's cell for STORE-12
    assert "Policy: Main v1; strategy: Keep 2." in page


def test_a_csr_routes_an_order_again(client, net):
    net.stock("DC-EAST", "A", 0)
    order = net.order(("A", 1))
    order_allocate(order_id=order.pk)
    net.stock("DC-CENTRAL", "A", 4)
    login(client, CSR)
    url = reverse("admin:fulfillment_route_again", args=[order.pk])
    assert client.get(url).status_code == 200
    response = client.post(url)
    assert response.status_code == 302
    assert RoutingDecision.objects.filter(order=order).latest("id").trigger == "csr"
    order.refresh_from_db()
    assert order.status == "allocated"


def test_a_new_policy_version_is_added_from_the_current_one_and_the_old_one_stays(client, net):
    v1 = net.policy({"name": "Nearest", "ranking": {"weights": {"distance": 1}}})
    login(client, ADMIN)
    add = reverse("admin:fulfillment_routingpolicyversion_add")
    prefilled = client.get(f"{add}?from={v1.pk}").content.decode()
    assert "Nearest" in prefilled
    form = {
        "policy": v1.policy_id,
        "comment": "Cheapest first for the holidays",
        "strategies-TOTAL_FORMS": "1", "strategies-INITIAL_FORMS": "0",
        "strategies-0-position": "1", "strategies-0-name": "Cheapest",
        "strategies-0-conditions": "{}", "strategies-0-filters": json.dumps({"store_guardrail": 1}),
        "strategies-0-ranking": json.dumps({"weights": {"cost": 1}}), "strategies-0-ship_complete_channels": "[]",
        "strategies-0-keep_bundles": "on", "strategies-0-failure_action": "backorder",
        "dropship_rules-TOTAL_FORMS": "0", "dropship_rules-INITIAL_FORMS": "0",
    }  # fmt: skip
    response = client.post(add, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    v2 = RoutingPolicyVersion.objects.get(policy=v1.policy, number=2)
    assert (v2.comment, v2.created_by) == ("Cheapest first for the holidays", "admin-routing")
    assert list(v2.strategies.values_list("name", flat=True)) == ["Cheapest"]
    assert list(v1.strategies.values_list("name", flat=True)) == ["Nearest"]
    # A saved version only reads: its page offers no save button.
    page = client.get(reverse("admin:fulfillment_routingpolicyversion_change", args=[v1.pk])).content.decode()
    assert 'name="_save"' not in page


def test_a_bad_strategy_is_refused_in_the_form(client, net):
    v1 = net.policy({"name": "Nearest"})
    login(client, ADMIN)
    form = {
        "policy": v1.policy_id, "comment": "typo",
        "strategies-TOTAL_FORMS": "1", "strategies-INITIAL_FORMS": "0",
        "strategies-0-position": "1", "strategies-0-name": "Broken", "strategies-0-conditions": "{}",
        "strategies-0-filters": json.dumps({"node_type": ["dc"]}), "strategies-0-ranking": "{}",
        "strategies-0-ship_complete_channels": "[]", "strategies-0-failure_action": "backorder",
        "dropship_rules-TOTAL_FORMS": "0", "dropship_rules-INITIAL_FORMS": "0",
    }  # fmt: skip
    response = client.post(reverse("admin:fulfillment_routingpolicyversion_add"), form)
    assert response.status_code == 200
    assert "filters.node_type: Unknown key" in response.content.decode()
    assert not RoutingPolicyVersion.objects.filter(number=2).exists()


def test_decisions_are_readable_not_editable(client, net):
    net.stock("DC-EAST", "A", 1)
    order = net.order(("A", 1))
    decision = order_allocate(order_id=order.pk)
    login(client, ADMIN)
    page = client.get(reverse("admin:fulfillment_routingdecision_change", args=[decision.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.get(reverse("admin:fulfillment_routingdecision_changelist")).status_code == 200
    assert client.get(reverse("admin:fulfillment_backorder_changelist")).status_code == 200
    assert client.get(reverse("admin:fulfillment_routingpolicy_changelist")).status_code == 200
