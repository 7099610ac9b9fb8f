"""The event types are part of the API: every type the code emits is in the catalogue."""

from __future__ import annotations

import ast
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


def test_every_type_has_one_payload_builder_in_oms():
    assert set(events.PAYLOADS) == set(events.EVENT_TYPES)
    assert {builder.__module__ for builder in events.PAYLOADS.values()} == {"oms.payloads"}


def _emitted_with_builders() -> list[tuple[str, str, set[str]]]:
    """(module, event type, names the module calls) for every emit site with a literal type:
    emit("x.y", …), emit_many([("x.y", …), …]) and the pending ("x.y", subject, payload) tuples."""
    found = []
    for app in APPS:
        for path in Path(settings.BASE_DIR, app).rglob("*.py"):
            if "migrations" in path.parts or path.name == "payloads.py":
                continue
            tree = ast.parse(path.read_text())
            called = {
                node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                for node in ast.walk(tree)
                if isinstance(node, ast.Call)
            }
            for node in ast.walk(tree):
                if isinstance(node, ast.Tuple) and len(node.elts) == 3:
                    first = node.elts[0]
                elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "emit" and node.args:
                    first = node.args[0]
                else:
                    continue
                if isinstance(first, ast.Constant) and first.value in events.EVENT_TYPES:
                    found.append((str(path.relative_to(settings.BASE_DIR)), first.value, called))
    return found


def test_every_emitter_builds_its_payload_with_the_builder_the_catalogue_names():
    """A payload built by hand (a dict literal, a builder of the app's own) would drift from what
    webhooks and e-mails read: each module that emits a type calls that type's builder.
    Transitions that take the type as an argument build it with their
    family's builder (orders.services.timeline, fulfillment's fo_transition, returns.timeline)."""
    sites = _emitted_with_builders()
    assert len({event_type for _, event_type, _ in sites}) >= 20, "the scan found too few emitters"
    wrong = [
        f"{module} emits {event_type} without calling {events.PAYLOADS[event_type].__name__}"
        for module, event_type, called in sites
        if events.PAYLOADS[event_type].__name__ not in called
    ]
    assert not wrong, wrong


def test_no_app_keeps_a_payload_builder_of_its_own():
    own = re.compile(r"^def \w*_payload\(", re.M)
    found = [
        str(path)
        for app in APPS
        for path in Path(settings.BASE_DIR, app).rglob("*.py")
        if path.name != "payloads.py" and own.search(path.read_text())
    ]
    assert not found, f"move these builders to oms/payloads.py: {found}"
