"""route_simulate: past orders replayed under another policy, against the stock of their time."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from fulfillment.routing.services import order_allocate
from inventory.models import StockLevel
from inventory.services import stock_receive
from tests.routing.conftest import ACTOR

pytestmark = pytest.mark.django_db


def simulate(*args: str) -> str:
    out = StringIO()
    call_command("route_simulate", *args, stdout=out)
    return out.getvalue()


def row(output: str, metric: str) -> list[str]:
    line = next(line for line in output.splitlines() if line.startswith(metric))
    return line[len(metric) :].split()


@pytest.fixture
def history(net):
    """Three orders routed nearest-first: two from DC-EAST until it ran out, one from DC-CENTRAL.
    DC-EAST was restocked afterwards."""
    net.node("DC-EAST", handling_cost="9.00")
    net.node("DC-CENTRAL", handling_cost="1.00")
    net.stock("DC-EAST", "A", 2)
    net.stock("DC-CENTRAL", "A", 10)
    version = net.policy({"name": "Nearest", "ranking": {"weights": {"distance": 1}}})
    for _ in range(3):
        order_allocate(order_id=net.order(("A", 1)).pk)
    stock_receive(product=net.product("A"), node=net.node("DC-EAST"), quantity=10, actor=ACTOR)
    return version


def test_it_reports_the_difference_a_cheaper_policy_would_make(net, history, tmp_path):
    policy = tmp_path / "cheapest.json"
    policy.write_text(json.dumps({"name": "Cheapest", "strategies": [{"name": "Cheapest", "ranking": {
        "weights": {"cost": 1}}}]}))  # fmt: skip
    output = simulate("--policy", str(policy), "--since", "2000-01-01", "--merchant", "net")
    assert "under Cheapest" in output
    assert "reconstructed from the ledger" in output
    assert row(output, "orders replayed") == ["3", "3"]
    # EAST: 5.50 zone cost + 9.00 handling; CENTRAL: 8.80 + 1.00.
    assert row(output, "estimated cost")[:3] == ["38.80", "29.40", "-9.40"]
    assert row(output, "orders routed differently") == ["2"]
    assert row(output, "DC-EAST") == ["2", "0", "-2"]
    assert row(output, "DC-CENTRAL") == ["1", "3", "+2"]
    assert StockLevel.objects.get(node__code="DC-CENTRAL").allocated == 1  # nothing was reserved


def test_replaying_the_same_policy_against_the_ledger_changes_nothing(history):
    output = simulate("--policy", str(history.pk), "--since", "2000-01-01")
    assert row(output, "orders routed differently") == ["0"]
    assert row(output, "estimated cost")[:3] == ["38.80", "38.80", "+0.00"]
    # Against today's stock DC-EAST (restocked since) would have taken the third order too: the
    # output says which stock it used.
    current = simulate("--policy", str(history.pk), "--since", "2000-01-01", "--stock", "current")
    assert "CURRENT stock" in current
    assert row(current, "orders routed differently") == ["1"]


def test_it_refuses_a_file_without_a_merchant_or_a_bad_policy(net, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"strategies": [{"ranking": {"mode": "shuffle"}}]}))
    with pytest.raises(CommandError, match="name the merchant"):
        simulate("--policy", str(bad), "--since", "2026-01-01")
    with pytest.raises(CommandError, match="ranking.mode"):
        simulate("--policy", str(bad), "--since", "2026-01-01", "--merchant", "net")
