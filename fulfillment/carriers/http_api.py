"""A carrier behind an EasyPost-style HTTP API: create a shipment to get its rates, buy one rate
for the label, refund to void, read the tracker for events.

Only the carrier's services defined here (by code, with the service levels they satisfy) are
offered; the API's rate and delivery days replace the rate card's. The API gives the tracking
code; the documents are rendered here with it (the same 4×6 PDF and ZPL as the built-in
carrier), unless the API returns its own ZPL.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings

from fulfillment.carriers.adapters import CarrierUnavailable, Label, TrackingUpdate, render_label
from fulfillment.carriers.labels import LabelData
from fulfillment.carriers.models import Carrier, CarrierService
from fulfillment.carriers.rates import Quote, RateRequest, add_business_days, billable_weight, ship_date

OUNCES_PER_KG = Decimal("35.274")


def _address(name: str, line1: str, city: str, region: str, postal_code: str, country: str) -> dict[str, str]:
    return {"name": name, "street1": line1, "city": city, "state": region, "zip": postal_code, "country": country}


class HttpApiCarrier:
    def _call(self, carrier: Carrier, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        url = carrier.api_base_url.rstrip("/") + path
        data = json.dumps(body).encode() if body is not None else None
        token = base64.b64encode(f"{carrier.api_key}:".encode()).decode()
        request = urllib.request.Request(
            url, data=data, method=method,
            headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"},
        )  # fmt: skip
        timeout = getattr(settings, "CARRIER_API_TIMEOUT_SECONDS", 10)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - configured carrier API
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise CarrierUnavailable(f"{carrier.name} answered {exc.code} to {method} {path}.") from exc
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            raise CarrierUnavailable(f"{carrier.name} did not answer {method} {path}: {exc}.") from exc
        if not isinstance(answer, dict):
            raise CarrierUnavailable(f"{carrier.name} answered {method} {path} with something other than an object.")
        return answer

    def rate(self, carrier: Carrier, request: RateRequest) -> list[Quote]:
        services = {s.code: s for s in carrier.services.filter(active=True).select_related("carrier")}
        if not services:
            return []
        origin, dest = request.origin, request.destination
        body = {"shipment": {
            "from_address": _address(origin.name, origin.line1, origin.city, origin.region, origin.postal_code,
                                     origin.country),
            "to_address": _address(f"{dest.get('first_name', '')} {dest.get('last_name', '')}".strip(),
                                   dest.get("line1", ""), dest.get("city", ""), dest.get("region", ""),
                                   dest.get("postal_code", ""), dest.get("country", "")),
            "parcel": {"weight": str((request.parcel.weight_kg * OUNCES_PER_KG).quantize(Decimal("0.1")))},
        }}  # fmt: skip
        answer = self._call(carrier, "POST", "/shipments", body)
        quotes = []
        for rate in answer.get("rates", []):
            service = services.get(str(rate.get("service", "")))
            if service is None:
                continue
            try:
                price = Decimal(str(rate["rate"]))
            except (KeyError, InvalidOperation):
                continue
            quotes.append(self._quote(service, request, rate, price, str(answer.get("id", ""))))
        return quotes

    def _quote(self, service: CarrierService, request: RateRequest, rate: dict[str, Any], price: Decimal,
               shipment_id: str) -> Quote:  # fmt: skip
        collected = ship_date(service, request.origin, request.now)
        days = rate.get("delivery_days") or max((int(d) for d in service.transit_days.values()), default=5)
        card = getattr(service, "rate_card", None)
        return Quote(
            carrier=service.carrier.code, carrier_name=service.carrier.name, service=service.code,
            service_name=service.name, service_id=service.pk, service_levels=list(service.service_levels), zone=0,
            price=price, currency=str(rate.get("currency", "USD")),
            billable_weight_kg=billable_weight(card, request.parcel) if card else request.parcel.weight_kg,
            transit_days=int(days), ship_date=collected,
            estimated_delivery=add_business_days(collected, int(days)), on_time_rate=service.on_time_rate,
            breakdown={"rate": str(price)}, external={"shipment": shipment_id, "rate": str(rate.get("id", ""))},
        )  # fmt: skip

    def create_label(self, carrier: Carrier, service: CarrierService, data: LabelData, quote: Quote) -> Label:
        shipment_id = quote.external.get("shipment", "")
        bought = self._call(carrier, "POST", f"/shipments/{shipment_id}/buy", {"rate": {"id": quote.external["rate"]}})
        code = str(bought.get("tracking_code", ""))
        if not code:
            raise CarrierUnavailable(f"{carrier.name} bought no label for shipment {shipment_id}.")
        label = render_label(data, code, shipment_id)
        zpl = (bought.get("postage_label") or {}).get("label_zpl")
        if zpl:
            documents = label.documents.__class__(label.documents.label_pdf, str(zpl), label.documents.packing_slip_pdf)
            return Label(code, documents, shipment_id)
        return label

    def void_label(self, carrier: Carrier, tracking_number: str, reference: str = "") -> bool:
        answer = self._call(carrier, "POST", f"/shipments/{reference}/refund", {})
        return answer.get("refund_status") in ("submitted", "refunded")

    def track(self, carrier: Carrier, tracking_number: str) -> list[TrackingUpdate]:
        answer = self._call(carrier, "GET", f"/trackers?tracking_code={tracking_number}")
        out = []
        for tracker in _objects(carrier, answer.get("trackers", [])):
            for i, detail in enumerate(_objects(carrier, tracker.get("tracking_details", []))):
                place = detail.get("tracking_location")
                place = place if isinstance(place, dict) else {}
                where = " ".join(p for p in (place.get("city"), place.get("state")) if p)
                out.append(TrackingUpdate(event_id=f"{tracker.get('id', tracking_number)}-{i}",
                                          status=str(detail.get("status", "")),
                                          occurred_at=str(detail.get("datetime", "")), location=where))  # fmt: skip
        return out


def _objects(carrier: Carrier, value: Any) -> list[dict[str, Any]]:
    """A list of JSON objects from the carrier's answer, or CarrierUnavailable (a job's retry, not
    an AttributeError)."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise CarrierUnavailable(f"{carrier.name} answered with trackers of an unexpected shape.")
    return value


def tracker_event_updates(event: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Normalise an EasyPost-style tracker webhook event into (tracking code, our event bodies):
    one per tracking detail, each with a stable id (the tracker, the time and the status)."""
    result = event.get("result") or {}
    code = str(result.get("tracking_code", ""))
    tracker = str(result.get("id", code))
    out = []
    for detail in result.get("tracking_details") or []:
        place = detail.get("tracking_location") or {}
        out.append({
            "event_id": f"{tracker}:{detail.get('datetime', '')}:{detail.get('status', '')}"[:100],
            "tracking_number": code,
            "status": str(detail.get("status", "")),
            "occurred_at": str(detail.get("datetime", "")),
            "location": " ".join(p for p in (place.get("city"), place.get("state")) if p),
        })  # fmt: skip
    return code, out
