"""Carrier tracking: signed events in, milestones mapped, shipments moved forward only, the
order delivered when everything is; carrier misses detected by a beat job."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from fulfillment.carriers.adapters import CarrierUnavailable, adapter_for
from fulfillment.carriers.models import Carrier, CarrierService, CarrierStatusCode, Milestone
from fulfillment.execution.common import SYSTEM, fo_transition, settings_for
from fulfillment.models import FulfillmentOrder, FulfillmentStatus
from fulfillment.signing import verify, verify_body_hmac
from fulfillment.tracking.models import MILESTONE_RANK, Shipment, TrackingEvent
from oms.actors import Actor
from oms.alerts import exception_raise
from oms.dates import moment_in_range
from oms.errors import DomainError, FieldError, InvalidInput, NotFound
from oms.outbox import emit
from oms.payloads import shipment_payload
from orders.models import OrderStatus
from orders.services.holds import order_lock
from orders.services.quantities import order_lines_deliver
from orders.services.status import order_status_reconcile

logger = logging.getLogger(__name__)

CARRIER_MISS = "carrier_miss"
CARRIER_EXCEPTION = "carrier_exception"
# Milestones that tell the customer something: each emits its event.
EVENTS = {
    Milestone.OUT_FOR_DELIVERY: "shipment.out_for_delivery",
    Milestone.DELIVERED: "shipment.delivered",
    Milestone.AVAILABLE_FOR_PICKUP: "shipment.available_for_pickup",
    Milestone.EXCEPTION: "shipment.exception",
    Milestone.RETURNED_TO_SENDER: "shipment.returned_to_sender",
}


class SignatureRefused(DomainError):
    status = 401
    code = "bad_signature"


@dataclass(frozen=True)
class Received:
    event: TrackingEvent
    created: bool


# A higher app that buys labels of its own (returns) registers a hook in its AppConfig.ready():
# given a carrier, the event and its milestone for a tracking number that is no shipment's, it
# acts on it and returns True, or returns False when the number is not its either.
TrackingHook = Callable[[Carrier, dict[str, Any], str], bool]
_tracking_hooks: list[TrackingHook] = []


def register_tracking_hook(hook: TrackingHook) -> None:
    if hook not in _tracking_hooks:
        _tracking_hooks.append(hook)


def _record_for_hook(carrier: Carrier, data: dict[str, Any]) -> Received | None:
    """Offer an event on a number no shipment has to the registered hooks (idempotent by id)."""
    milestone = milestone_for(carrier, data["status"])
    for hook in _tracking_hooks:
        if not hook(carrier, data, milestone):
            continue
        try:
            with transaction.atomic():
                event = TrackingEvent.objects.create(
                    carrier=carrier, tracking_number=data["tracking_number"], event_id=data["event_id"],
                    carrier_status=data["status"], milestone=milestone, occurred_at=data["occurred_at"],
                    location=data.get("location", ""), payload=data.get("raw", {}),
                )  # fmt: skip
        except IntegrityError:
            return Received(TrackingEvent.objects.get(carrier=carrier, event_id=data["event_id"]), False)
        return Received(event, True)
    return None


def carrier_verify(*, carrier_code: str, signature: str, body: bytes) -> Carrier:
    """Return the carrier whose secret signs this body; refuse (401) anything else."""
    carrier = Carrier.objects.filter(code=carrier_code, active=True).first()
    if carrier is None or not verify(carrier.webhook_secret, signature, body):
        raise SignatureRefused("Missing or invalid X-OMS-Signature for this carrier.", field=None)
    return carrier


def carrier_verify_native(*, carrier_code: str, signature: str, body: bytes) -> Carrier:
    """The same for a carrier's own webhook format, signed the EasyPost way (body HMAC)."""
    carrier = Carrier.objects.filter(code=carrier_code, active=True).first()
    if carrier is None or not verify_body_hmac(carrier.webhook_secret, signature, body):
        raise SignatureRefused("Missing or invalid X-Hmac-Signature for this carrier.", field=None)
    return carrier


def milestone_for(carrier: Carrier, status: str) -> str:
    mapped = CarrierStatusCode.objects.filter(carrier=carrier, code=status).values_list("milestone", flat=True)
    found = next(iter(mapped), None)
    if found:
        return found
    if status in Milestone.values:
        return status
    raise InvalidInput([FieldError("status", "unknown_status", f"'{status}' is not a status code of {carrier.name}.")])


def _on_time_rate(service: CarrierService) -> None:
    """Re-measure the service's on-time rate from its delivered shipments."""
    stats = Shipment.objects.filter(service=service, on_time__isnull=False).aggregate(
        total=Count("pk"), good=Count("pk", filter=Q(on_time=True))
    )
    if stats["total"]:
        CarrierService.objects.filter(pk=service.pk).update(
            on_time_rate=round(stats["good"] / stats["total"], 4), on_time_sample=stats["total"]
        )


def _delivered(shipment: Shipment, at: datetime, actor: Actor) -> None:
    shipment.delivered_at = at
    if shipment.promise_date:
        shipment.on_time = timezone.localdate(at) <= shipment.promise_date
    order = order_lock(shipment.order)
    order_lines_deliver(units={line.order_line_id: line.quantity for line in shipment.lines.all()})
    fo = (
        FulfillmentOrder.objects.select_for_update(of=("self",))
        .select_related("node")
        .get(pk=shipment.fulfillment_order_id)
    )
    fo.order = order
    others = Shipment.objects.filter(fulfillment_order=fo).exclude(pk=shipment.pk)
    if fo.status == FulfillmentStatus.SHIPPED and not others.filter(delivered_at__isnull=True).exists():
        fo_transition(fo, "deliver", actor=actor, event_type="fulfillment_order.delivered")
    if order.status != OrderStatus.ON_HOLD:
        order_status_reconcile(order, actor=actor)


@transaction.atomic
def tracking_event_record(*, carrier: Carrier, data: dict[str, Any], actor: Actor = SYSTEM) -> Received:
    """Record one carrier event: idempotent by event id; a shipment never moves backwards."""
    existing = TrackingEvent.objects.filter(carrier=carrier, event_id=data["event_id"]).first()
    if existing is not None:
        return Received(existing, False)
    found = Shipment.objects.filter(carrier=carrier, tracking_number=data["tracking_number"]).first()
    if found is None and (claimed := _record_for_hook(carrier, data)) is not None:
        return claimed
    if found is None:
        raise NotFound(f"No {carrier.name} shipment with tracking number {data['tracking_number']}.",
                       field="tracking_number")  # fmt: skip
    milestone = milestone_for(carrier, data["status"])
    shipment = (
        Shipment.objects.select_for_update(of=("self",)).select_related("order", "carrier", "service").get(pk=found.pk)
    )
    try:
        with transaction.atomic():
            event = TrackingEvent.objects.create(
                shipment=shipment, carrier=carrier, event_id=data["event_id"], carrier_status=data["status"],
                milestone=milestone, occurred_at=data["occurred_at"], location=data.get("location", ""),
                payload=data.get("raw", {}),
            )  # fmt: skip
    except IntegrityError:  # the same event delivered twice at once: the first one stands
        return Received(TrackingEvent.objects.get(carrier=carrier, event_id=data["event_id"]), False)
    occurred = data["occurred_at"]
    if milestone != Milestone.LABEL_CREATED and (shipment.first_scan_at is None or occurred < shipment.first_scan_at):
        shipment.first_scan_at = occurred
    shipment.last_event_at = max(filter(None, [shipment.last_event_at, occurred]))
    moved = milestone != Milestone.EXCEPTION and MILESTONE_RANK[milestone] > MILESTONE_RANK[shipment.status]
    if moved:
        shipment.status = milestone
        if milestone == Milestone.DELIVERED:
            _delivered(shipment, occurred, actor)
    shipment.save()
    if moved and milestone == Milestone.DELIVERED:
        _on_time_rate(shipment.service)
    if milestone in (Milestone.EXCEPTION, Milestone.RETURNED_TO_SENDER):
        exception_raise(
            type=CARRIER_EXCEPTION,
            subject=shipment,
            message=f"{carrier.name} reports {data['status']} for {shipment.tracking_number}"
            + (f" at {event.location}" if event.location else "") + ".",
            merchant=shipment.order.merchant,
        )  # fmt: skip
    if milestone in EVENTS and (moved or milestone == Milestone.EXCEPTION):
        payload = shipment_payload(shipment, milestone=milestone, location=event.location,
                                   occurred_at=occurred.isoformat(), on_time=shipment.on_time)  # fmt: skip
        emit(EVENTS[milestone], subject=shipment, merchant_id=shipment.order.merchant_id, payload=payload)
    return Received(event, True)


POLL_EVERY = timedelta(hours=1)
# How far ahead of our clock a carrier's event time may be (their clocks drift).
TRACKING_AHEAD = timedelta(days=2)


def trackers_poll(*, now: datetime | None = None, batch: int = 200) -> int:
    """Beat job: ask the carriers that do not push events (HTTP API carriers) about their parcels
    in flight, at most hourly each; every update is recorded like a webhook event (idempotent)."""
    now = now or timezone.now()
    due = (
        Shipment.objects.filter(carrier__adapter=Carrier.Adapter.HTTP_API, carrier__active=True)
        .exclude(status__in=[Milestone.DELIVERED, Milestone.RETURNED_TO_SENDER])
        .filter(Q(polled_at__isnull=True) | Q(polled_at__lte=now - POLL_EVERY), voided_at__isnull=True)
        .select_related("carrier")
        .order_by("polled_at", "pk")[:batch]
    )
    recorded = 0
    for shipment in list(due):
        Shipment.objects.filter(pk=shipment.pk).update(polled_at=now)
        try:
            updates = adapter_for(shipment.carrier).track(shipment.carrier, shipment.tracking_number)
        except CarrierUnavailable as exc:
            logger.warning("tracking %s: %s", shipment.tracking_number, exc)
            continue
        for update in updates:
            try:
                occurred = parse_datetime(update.occurred_at)
            except ValueError:  # well-formed but impossible, e.g. month 13
                occurred = None
            if occurred is None or not moment_in_range(occurred, ahead=TRACKING_AHEAD):
                logger.warning("tracking %s: event time %r ignored", shipment.tracking_number, update.occurred_at)
                continue
            data = {"event_id": update.event_id, "tracking_number": shipment.tracking_number,
                    "status": update.status, "occurred_at": occurred, "location": update.location}  # fmt: skip
            try:
                recorded += tracking_event_record(carrier=shipment.carrier, data=data).created
            except InvalidInput as exc:  # a status code nobody mapped yet: the rest still count
                logger.warning("tracking %s: %s", shipment.tracking_number, exc)
    return recorded


@transaction.atomic
def _carrier_miss(shipment_id: int, now: datetime) -> bool:
    shipment = (
        Shipment.objects.select_for_update(of=("self",))
        .select_related("order__merchant", "carrier")
        .get(pk=shipment_id)
    )
    if shipment.carrier_miss_alerted_at or shipment.delivered_at or shipment.voided_at:
        return False
    hours = settings_for(shipment.order.merchant_id).carrier_scan_hours
    if shipment.first_scan_at is None and shipment.shipped_at + timedelta(hours=hours) <= now:
        why = f"no carrier scan within {hours} h of the label"
    elif shipment.promise_date and timezone.localdate(now) > shipment.promise_date:
        why = f"not delivered by the promise date {shipment.promise_date.isoformat()}"
    else:
        return False
    exception_raise(
        type=CARRIER_MISS,
        subject=shipment,
        message=f"{shipment.carrier.name} {shipment.tracking_number} (order {shipment.order.number}): {why}.",
        merchant=shipment.order.merchant,
        severity="high",
    )
    shipment.carrier_miss_alerted_at = now
    shipment.save(update_fields=["carrier_miss_alerted_at"])
    return True


def carrier_misses_detect(*, now: datetime | None = None) -> int:
    """Beat job: a carrier-miss exception, once per shipment, for a label never scanned in time
    or a parcel not delivered by the promise date."""
    now = now or timezone.now()
    ids = Shipment.objects.filter(
        Q(first_scan_at__isnull=True) | Q(promise_date__lt=timezone.localdate(now)),
        carrier_miss_alerted_at__isnull=True,
        delivered_at__isnull=True,
        voided_at__isnull=True,
        status__in=[m for m in Milestone.values if m not in (Milestone.DELIVERED, Milestone.RETURNED_TO_SENDER)],
    ).values_list("pk", flat=True)
    return sum(_carrier_miss(pk, now) for pk in list(ids))
