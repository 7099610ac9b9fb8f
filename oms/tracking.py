"""Public tracking links: shared by the e-mails (notifications) and the channel pushes (orders)."""

from __future__ import annotations

from urllib.parse import quote

# Public tracking pages of well-known carriers, by carrier code.
CARRIER_TRACKING_URLS = {
    "ups": "https://www.ups.com/track?tracknum={tracking_number}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={tracking_number}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking_number}",
    "dhl": "https://www.dhl.com/global-en/home/tracking.html?tracking-id={tracking_number}",
}


def tracking_url(carrier: str, tracking_number: str, template: str = "") -> str:
    """The merchant's tracking link template, else the carrier's own page when known."""
    template = template or CARRIER_TRACKING_URLS.get(carrier.lower(), "")
    if not (template and tracking_number):
        return ""
    return template.replace("{carrier}", quote(carrier)).replace("{tracking_number}", quote(tracking_number))
