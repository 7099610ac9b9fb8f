from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from oms.models import Channel
from orders.channels.models import ChannelConnection
from orders.channels.services.connections import connection_create
from tests.channels.servers import ShopifyServer, WooServer
from tests.factories import ChannelFactory

SHOPIFY_SECRET = "shpss_app_secret"
WOO_SECRET = "woo-webhook-secret"


@pytest.fixture
def shopify_server() -> Iterator[ShopifyServer]:
    server = ShopifyServer()
    yield server
    server.close()


def shopify_connection(api: Any, server: ShopifyServer, **options: Any) -> ChannelConnection:
    channel = ChannelFactory(merchant=api.merchant, code="shopify", kind=Channel.Kind.WEB)
    return connection_create(
        merchant=api.merchant,
        channel=channel,
        kind=ChannelConnection.Kind.SHOPIFY,
        base_url=server.url,
        credentials={"token": server.token, "webhook_secret": SHOPIFY_SECRET},
        options=options,
    )


@pytest.fixture
def shop(api: Any, shopify_server: ShopifyServer) -> ChannelConnection:
    return shopify_connection(api, shopify_server)


@pytest.fixture
def woo_server() -> Iterator[WooServer]:
    server = WooServer()
    yield server
    server.close()


@pytest.fixture
def woo(api: Any, woo_server: WooServer) -> ChannelConnection:
    channel = ChannelFactory(merchant=api.merchant, code="woo", kind=Channel.Kind.WEB)
    return connection_create(
        merchant=api.merchant,
        channel=channel,
        kind=ChannelConnection.Kind.WOOCOMMERCE,
        base_url=woo_server.url,
        credentials={
            "consumer_key": woo_server.key,
            "consumer_secret": woo_server.secret,
            "webhook_secret": WOO_SECRET,
        },
    )
