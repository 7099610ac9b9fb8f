"""Merchants and their API keys."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from oms.keys import key_generate, key_mark_used, key_matches, key_prefix
from oms.models import ApiKey, Channel, Merchant

KEY_SCHEME = "oms"


@transaction.atomic
def merchant_create(*, code: str, name: str = "", order_prefix: str = "") -> Merchant:
    merchant = Merchant.objects.create(
        code=code, name=name or code.title(), order_prefix=order_prefix or code[:4].upper()
    )
    Channel.objects.create(merchant=merchant, code="api", name="API", kind=Channel.Kind.API)
    return merchant


def api_key_issue(*, merchant: Merchant, name: str = "default") -> tuple[ApiKey, str]:
    """Create a key and return it with its raw value, which is never stored and shown once."""
    prefix, raw, digest = key_generate(KEY_SCHEME)
    return ApiKey.objects.create(merchant=merchant, name=name, prefix=prefix, digest=digest), raw


def api_key_revoke(*, key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_key_authenticate(raw: str) -> ApiKey | None:
    """Return the active key matching `raw`, or None. Constant-time on the secret part."""
    prefix = key_prefix(raw, KEY_SCHEME)
    if prefix is None:
        return None
    key = (
        ApiKey.objects.select_related("merchant")
        .filter(prefix=prefix, revoked_at__isnull=True, merchant__active=True)
        .first()
    )
    if key is None or not key_matches(key.digest, raw):
        return None
    key_mark_used(key)
    return key


def merchant_next_order_sequence(merchant: Merchant) -> int:
    """Hand out the merchant's next order sequence number.

    One UPDATE ... RETURNING: concurrent callers queue on the row lock and each gets its own
    number. Called outside the capture transaction so the lock is held only for this statement;
    a capture that then fails leaves a gap, never a duplicate.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE oms_merchant SET order_sequence = order_sequence + 1 WHERE id = %s RETURNING order_sequence",
            [merchant.pk],
        )
        return int(cursor.fetchone()[0])
