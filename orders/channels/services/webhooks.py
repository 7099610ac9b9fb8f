"""Webhook intake: signature first, then one INSERT (a replayed delivery id inserts nothing), then
the work is queued. The order itself is taken by the job (services/sync.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.db import connection as db
from django.utils import timezone

from oms.errors import DomainError, NotFound
from orders.channels.connectors import connector_for
from orders.channels.models import ChannelConnection, ChannelWebhook


class BadSignature(DomainError):
    status = 401
    code = "bad_signature"


def _topic(headers: Mapping[str, str]) -> str:
    return (headers.get("X-Shopify-Topic") or headers.get("X-WC-Webhook-Topic") or "")[:60]


# WooCommerce checks a new webhook's URL with an unsigned form post of its id: a 2xx lets it save.
WOO_PING = re.compile(rb"webhook_id=\d+")


def channel_webhook_receive(*, connection_uuid: str, body: bytes, headers: Mapping[str, str]) -> int | None:
    """Store a signed webhook once. Return its row id when it is new, None for a replay."""
    connection = ChannelConnection.objects.filter(uuid=connection_uuid, active=True).select_related("channel").first()
    if connection is None:
        raise NotFound("No such channel connection.")
    if connection.kind == ChannelConnection.Kind.WOOCOMMERCE and WOO_PING.fullmatch(body):
        return None  # nothing stored, nothing to do
    connector = connector_for(connection)
    if not connector.verify_webhook(body=body, headers=headers):
        raise BadSignature("The webhook's signature does not match this connection's secret.", field="signature")
    table = ChannelWebhook._meta.db_table
    # INSERT ... ON CONFLICT DO NOTHING RETURNING: one statement decides new or replay, race-free.
    with db.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (connection_id, webhook_id, topic, body, received_at, result) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s, '') ON CONFLICT (connection_id, webhook_id) DO NOTHING RETURNING id",
            [
                connection.pk,
                connector.webhook_id(body=body, headers=headers),
                _topic(headers),
                body.decode("utf-8", errors="replace"),
                timezone.now(),
            ],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None
