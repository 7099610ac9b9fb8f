"""The event types are part of the API: every type the code emits is in the catalogue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from notifications.messages import MESSAGES
from oms import events

APPS = ["oms", "inventory", "orders", "fulfillment", "returns", "notifications"]
# emit("x.y", …), event_type="x.y", and the ("x.y", subject, payload) tuples of emit_many.
# Tables of event types by key (a carrier milestone -> its event) too.
EMITTED = re.compile(
    r"""(?:emit\(\s*|event_type=)["']([a-z_]+\.[a-z_]+)["']"""
    r"""|(?<![\w.])\(\s*["']([a-z_]+\.[a-z_]+)["']\s*,\s*[a-z_]+\s*,"""
    r"""|\w\.[A-Z_]+:\s*["']([a-z_]+\.[a-z_]+)["']"""
)


def emitted_types() -> set[str]:
    found = set()
    for app in APPS:
        for path in Path(settings.BASE_DIR, app).rglob("*.py"):
            if "migrations" not in path.parts and path.parent.name != "notifications":
                found |= {a or b or c for a, b, c in EMITTED.findall(path.read_text())}
    return found


def test_it_knows_every_event_type_the_code_emits():
    emitted = emitted_types()
    assert {"order.received", "order.validated", "order.cancelled", "refund.issued", "inventory.low_stock"} <= emitted
    unknown = {t for t in emitted if t not in events.EVENT_TYPES and not t.startswith("return.")}
    assert not unknown, f"add these to oms/events.py (and docs/NOTIFICATIONS.md): {sorted(unknown)}"


def test_it_lists_the_issue_events_by_their_contract_names():
    issue = [
        "order.received", "order.validated", "order.on_hold", "order.hold_resolved", "order.amended",
        "order.ready", "payment.captured", "payment.failed", "order.allocated", "order.backordered",
        "order.released", "shipment.shipped", "shipment.out_for_delivery", "shipment.delivered",
        "order.partially_cancelled", "order.cancelled", "order.ready_for_pickup", "order.picked_up",
        "refund.issued", "exception.raised", "exception.resolved", "inventory.received",
        "inventory.shortfall", "inventory.low_stock", "inventory.availability_changed",
    ]  # fmt: skip
    assert list(events.EVENT_TYPES)[: len(issue)] == issue


def test_a_star_subscription_matches_every_type_including_later_ones():
    for event_type in [*events.EVENT_TYPES, "return.authorized", "anything.new"]:
        assert events.matches(["*"], event_type)


def test_it_matches_names_and_families():
    assert events.matches(["order.cancelled"], "order.cancelled")
    assert not events.matches(["order.cancelled"], "order.partially_cancelled")
    assert events.matches(["shipment.*"], "shipment.delivered")
    assert not events.matches(["shipment.*"], "order.released")
    assert events.matches(["return.*"], "return.received")


def test_it_accepts_known_patterns_only():
    for pattern in ["*", "order.ready", "inventory.*", "return.*", "return.authorized"]:
        assert events.pattern_is_known(pattern), pattern
    for pattern in ["order.shiped", "orders.*", "", "order", "shipment"]:
        assert not events.pattern_is_known(pattern), pattern


def test_every_message_is_sent_on_a_catalogued_or_returns_event():
    for message in MESSAGES.values():
        for event_type in message.events:
            assert event_type in events.EVENT_TYPES or event_type.startswith("return."), (message.key, event_type)


def test_every_consumer_listens_for_types_that_something_emits():
    from oms.outbox import _consumers

    emitted = emitted_types()
    listened = {t: c.name for c in _consumers.values() for t in c.event_types if t != events.ALL}
    orphans = {t: name for t, name in listened.items() if t not in emitted}
    assert not orphans, f"consumers listening for types nothing emits: {orphans}"


def test_emit_and_register_refuse_a_type_the_catalogue_does_not_list():
    from oms import outbox
    from oms.refs import Ref

    with pytest.raises(ValueError, match="order.shiped"):
        outbox.emit("order.shiped", subject=Ref("orders.order", "1"), merchant_id=None)
    with pytest.raises(ValueError, match="order.shiped"):
        outbox.register_consumer("test.typo", ["order.shiped"], lambda event: None)
    assert "test.typo" not in outbox._consumers
