"""The merchant configuration that capture and the pipeline read from per-process caches
(oms.caches) — channels, fraud settings and deny list, tax rates, payment and notification
settings — reaches a process that cached it once another process changes it: at that process's
next version check (OMS_CACHE_CHECK_SECONDS), not at its restart."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

from notifications.services.emails import NOTIFICATION_SETTINGS
from oms import outbox
from orders.payments.services import payment_settings_for
from tests import payloads
from tests.conftest import suite_database_url
from tests.factories import (
    FraudSettingsFactory,
    MerchantPaymentSettingsFactory,
    NotificationSettingsFactory,
    TaxSettingsFactory,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

LONDON = {
    "first_name": "Ana", "last_name": "Silva", "line1": "10 Downing Street", "city": "London",
    "postal_code": "SW1A 2AA", "country": "GB",
}  # fmt: skip

# What a CSR changes in the admin of another web process, run as exactly that: a process of its
# own, saving through the ORM (so the change bumps the cache versions as the admin's would).
CHANGE = """
from decimal import Decimal
from notifications.models import NotificationSettings
from oms.models import Channel
from orders.fraud.models import DenyListEntry, FraudSettings
from orders.payments.models import MerchantPaymentSettings
from orders.tax.models import TaxRate

m = {merchant}
DenyListEntry.objects.create(merchant_id=m, kind="email", value="blocked@example.com")
fraud = FraudSettings.objects.get(merchant_id=m)
fraud.review_threshold = 20
fraud.save()
TaxRate.objects.create(merchant_id=m, name="VAT", country="GB", rate=Decimal("0.2"), shipping_taxable=False)
channel = Channel.objects.get(merchant_id=m, code="marketplace")
channel.active = False
channel.save()
payments = MerchantPaymentSettings.objects.get(merchant_id=m)
payments.capture_timing = "at_release"
payments.save()
notifications = NotificationSettings.objects.get(merchant_id=m)
notifications.sender_name = "Acme Support"
notifications.save()
"""


def capture(api, external_id: str, **changes):
    """POST an order whose customer, card and street are its own (no velocity between them)."""
    body = payloads.order(external_id=external_id, **changes)
    if "shipping_address" not in changes:
        body["shipping_address"] = {**body["shipping_address"], "line1": f"1 {external_id} St"}
    body["customer"] = {
        **body["customer"],
        "email": f"{external_id.lower()}@example.com",
        **changes.get("customer", {}),
    }
    body["payment"]["token"] = f"tok_visa_ok_{external_id}"
    response = api.client.post("/api/v1/orders/", body, format="json")
    return response.status_code, response.json()


def test_a_change_made_by_another_process_is_seen_at_the_next_version_check(api, monkeypatch, settings):
    for factory in (FraudSettingsFactory, TaxSettingsFactory, MerchantPaymentSettingsFactory):
        factory(merchant=api.merchant)
    NotificationSettingsFactory(merchant=api.merchant, sender_name="Acme")
    monkeypatch.setattr(outbox, "enqueue_now", lambda task, *args, **kwargs: True)  # orders stay as captured
    settings.OMS_CACHE_CHECK_SECONDS = 3600
    # This process caches what it reads: each of these would change its answer after the change.
    assert capture(api, "BEFORE-1", customer={"email": "blocked@example.com"})[1]["fraud"]["outcome"] == "approve"
    assert capture(api, "BEFORE-2", shipping_address=LONDON, billing_address=LONDON)[1]["status"] == "validated"
    assert capture(api, "BEFORE-3", channel="marketplace")[0] == 201
    assert payment_settings_for(api.merchant.pk).capture_timing == "before_allocation"
    assert NOTIFICATION_SETTINGS.get(api.merchant.pk).sender_name == "Acme"

    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", CHANGE.format(merchant=api.merchant.pk)],
        cwd=django_settings.BASE_DIR, env={**os.environ, "DATABASE_URL": suite_database_url()},
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    # Until its next check, this process answers from its copies (the check costs one query).
    assert payment_settings_for(api.merchant.pk).capture_timing == "before_allocation"

    settings.OMS_CACHE_CHECK_SECONDS = 0
    status, denied = capture(api, "AFTER-1", customer={"email": "blocked@example.com"})
    assert (status, denied["status"], denied["fraud"]["outcome"]) == (201, "cancelled", "reject")
    _, mismatch = capture(api, "AFTER-2", billing_address=LONDON)  # country mismatch: 25 > 20 now
    assert [h["type"] for h in mismatch["holds"]] == ["fraud"]
    _, taxed = capture(api, "AFTER-3", shipping_address=LONDON, billing_address=LONDON)  # 20 % VAT now
    assert [h["type"] for h in taxed["holds"]] == ["tax"]
    status, refused = capture(api, "AFTER-4", channel="marketplace")
    assert (status, refused["errors"][0]["field"]) == (400, "channel")
    assert payment_settings_for(api.merchant.pk).capture_timing == "at_release"
    assert NOTIFICATION_SETTINGS.get(api.merchant.pk).sender_name == "Acme Support"
