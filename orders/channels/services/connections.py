"""Channel connections: settings, credentials (encrypted, write-only) and the pull schedule."""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from oms.models import Channel, Merchant
from orders.channels.crypto import credentials_decrypt, credentials_encrypt
from orders.channels.models import ChannelConnection, ChannelSkuMap

PULL_TASK = "orders.channels.tasks.channel_pull"
# Which credentials each kind takes (docs/CHANNELS.md).
CREDENTIAL_FIELDS = {
    ChannelConnection.Kind.SHOPIFY: ("token", "webhook_secret"),
    ChannelConnection.Kind.WOOCOMMERCE: ("consumer_key", "consumer_secret", "webhook_secret"),
    ChannelConnection.Kind.FEED: ("token",),
}


def connection_schedule(connection: ChannelConnection) -> None:
    """Keep the connection's django-celery-beat periodic pull in step with its settings."""
    every, _ = IntervalSchedule.objects.get_or_create(
        every=max(connection.pull_every_seconds, 1), period=IntervalSchedule.SECONDS
    )
    fields = {
        "name": f"channel pull {connection.uuid}",
        "task": PULL_TASK,
        "interval": every,
        "args": json.dumps([connection.pk]),
        "queue": "channels",
        "enabled": connection.active,
    }
    if connection.periodic_task_id is None:
        task = PeriodicTask.objects.create(**fields)
        ChannelConnection.objects.filter(pk=connection.pk).update(periodic_task=task)
        connection.periodic_task = task
        return
    PeriodicTask.objects.filter(pk=connection.periodic_task_id).update(**fields)
    # Beat re-reads its schedule only when this changes (update() skips the model's save()).
    PeriodicTask.objects.filter(pk=connection.periodic_task_id).first().save()  # type: ignore[union-attr]


def _credentials(kind: str, given: dict[str, str]) -> str:
    allowed = CREDENTIAL_FIELDS[kind]
    return credentials_encrypt({k: str(v) for k, v in given.items() if k in allowed and v})


@transaction.atomic
def connection_create(
    *,
    merchant: Merchant,
    channel: Channel,
    kind: str,
    base_url: str,
    credentials: dict[str, str],
    pull_every_seconds: int = 300,
    options: dict[str, Any] | None = None,
    active: bool = True,
) -> ChannelConnection:
    connection = ChannelConnection.objects.create(
        merchant=merchant,
        channel=channel,
        kind=kind,
        base_url=base_url,
        credentials=_credentials(kind, credentials),
        pull_every_seconds=pull_every_seconds,
        options=options or {},
        active=active,
    )
    connection_schedule(connection)
    return connection


@transaction.atomic
def connection_update(*, connection: ChannelConnection, changes: dict[str, Any]) -> ChannelConnection:
    """Apply changed settings; each credential given replaces the stored one, the others stay."""
    for name in ("base_url", "pull_every_seconds", "options", "active"):
        if name in changes:
            setattr(connection, name, changes[name])
    if changes.get("credentials"):
        stored = credentials_decrypt(connection.credentials)
        connection.credentials = _credentials(connection.kind, {**stored, **changes["credentials"]})
    if "cursor" in changes:
        connection.cursor = changes["cursor"]
    connection.save()
    connection_schedule(connection)
    return connection


@transaction.atomic
def connection_delete(*, connection: ChannelConnection) -> None:
    if connection.periodic_task_id:
        PeriodicTask.objects.filter(pk=connection.periodic_task_id).delete()
    connection.delete()


@transaction.atomic
def sku_map_set(*, connection: ChannelConnection, sku: str, ids: dict[str, str]) -> ChannelSkuMap:
    """Create or edit a SKU's platform ids (what a pull learns, a person may correct)."""
    entry, _ = ChannelSkuMap.objects.update_or_create(connection=connection, sku=sku, defaults=ids)
    return entry


def sku_map_sync(*, connection: ChannelConnection) -> int:
    """Read the platform's products and record each SKU's ids (the platform is right about its
    own ids: they replace what was stored). Return how many SKUs were seen."""
    from orders.channels.connectors import connector_for

    seen = 0
    for listing in connector_for(connection).listings():
        ids = {"product_id": listing.product_id, "variant_id": listing.variant_id}
        if listing.inventory_item_id:
            ids["inventory_item_id"] = listing.inventory_item_id
        sku_map_set(connection=connection, sku=listing.sku, ids=ids)
        seen += 1
    return seen
