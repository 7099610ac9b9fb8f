"""Reads of channel sync: a merchant's connections, their runs and SKU maps."""

from __future__ import annotations

from django.db.models import QuerySet

from oms.errors import NotFound
from oms.models import Merchant
from orders.channels.models import ChannelConnection, ChannelSkuMap, SyncRun


def connections_of(*, merchant: Merchant) -> QuerySet[ChannelConnection]:
    return ChannelConnection.objects.filter(merchant=merchant).select_related("channel").order_by("channel__code")


def connection_get(*, merchant: Merchant, uuid: str) -> ChannelConnection:
    connection = connections_of(merchant=merchant).filter(uuid=uuid).first()
    if connection is None:
        raise NotFound("No such channel connection.")
    return connection


def runs_of(*, connection: ChannelConnection) -> QuerySet[SyncRun]:
    return SyncRun.objects.filter(connection=connection).order_by("-started_at", "-id")


def sku_map_of(*, connection: ChannelConnection) -> QuerySet[ChannelSkuMap]:
    return ChannelSkuMap.objects.filter(connection=connection).order_by("sku")
