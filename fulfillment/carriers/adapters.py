"""The carrier adapter interface and the built-in rate-card carrier (the default).

An adapter rates a parcel, creates and voids labels, and reports tracking. Another carrier (an
EasyPost- or Shippo-style HTTP API) plugs in by adding a class here and a choice to
`Carrier.Adapter`; everything else (rate shopping, shipping, tracking) talks to this interface.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Protocol

from fulfillment.carriers.labels import LabelData, label_pdf, label_zpl, packing_slip_pdf
from fulfillment.carriers.models import Carrier, CarrierService
from fulfillment.carriers.rates import Quote, RateRequest, rate_card_quote
from oms.errors import DomainError


class CarrierUnavailable(DomainError):
    """The carrier's API did not answer usefully (HTTP 503: try again later)."""

    status = 503
    code = "carrier_unavailable"


@dataclass(frozen=True)
class Documents:
    label_pdf: bytes
    label_zpl: str
    packing_slip_pdf: bytes


@dataclass(frozen=True)
class Label:
    tracking_number: str
    documents: Documents
    reference: str = ""  # the carrier's id of the shipment, if it has one


@dataclass(frozen=True)
class TrackingUpdate:
    event_id: str
    status: str  # the carrier's own code; CarrierStatusCode maps it
    occurred_at: str
    location: str = ""


class CarrierAdapter(Protocol):
    def rate(self, carrier: Carrier, request: RateRequest) -> list[Quote]: ...

    def create_label(self, carrier: Carrier, service: CarrierService, data: LabelData, quote: Quote) -> Label: ...

    def void_label(self, carrier: Carrier, tracking_number: str, reference: str = "") -> bool: ...

    def track(self, carrier: Carrier, tracking_number: str) -> list[TrackingUpdate]: ...


def render_label(data: LabelData, tracking_number: str, reference: str = "") -> Label:
    """Our own documents for a tracking number (the PDF and ZPL label, the packing slip)."""
    data = replace(data, tracking_number=tracking_number)
    return Label(tracking_number, Documents(label_pdf(data), label_zpl(data), packing_slip_pdf(data)), reference)


def _check_digit(digits: str) -> str:
    # Mod-10 (Luhn) over the serial: catches a mistyped digit at the carrier's counter.
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return str((10 - total % 10) % 10)


class RateCardCarrier:
    """Rates from the database's rate cards; labels rendered here; tracking arrives by webhook."""

    def rate(self, carrier: Carrier, request: RateRequest) -> list[Quote]:
        services = carrier.services.filter(active=True).select_related("carrier", "rate_card")
        services = services.prefetch_related("rate_card__zones", "rate_card__breaks", "rate_card__surcharges")
        return [q for q in (rate_card_quote(s, request) for s in services) if q is not None]

    def tracking_number(self, carrier: Carrier) -> str:
        serial = f"{secrets.randbelow(10**12):012d}"
        return f"{carrier.tracking_prefix}{serial}{_check_digit(serial)}"

    def create_label(self, carrier: Carrier, service: CarrierService, data: LabelData, quote: Quote) -> Label:
        return render_label(data, self.tracking_number(carrier))

    def void_label(self, carrier: Carrier, tracking_number: str, reference: str = "") -> bool:
        return True  # nothing was bought from anyone

    def track(self, carrier: Carrier, tracking_number: str) -> list[TrackingUpdate]:
        return []  # the carrier pushes its events to POST /api/v1/tracking-events/


def adapter_for(carrier: Carrier) -> CarrierAdapter:
    if carrier.adapter == Carrier.Adapter.HTTP_API:
        from fulfillment.carriers.http_api import HttpApiCarrier

        return HttpApiCarrier()
    return RateCardCarrier()
