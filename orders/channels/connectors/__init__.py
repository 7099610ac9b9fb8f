"""One connector per platform kind; `connector_for` builds it with the decrypted credentials."""

from __future__ import annotations

from orders.channels.connectors.base import Connector
from orders.channels.crypto import credentials_decrypt
from orders.channels.models import ChannelConnection


def connector_for(connection: ChannelConnection) -> Connector:
    from orders.channels.connectors.feed import FeedConnector
    from orders.channels.connectors.shopify import ShopifyConnector
    from orders.channels.connectors.woocommerce import WooCommerceConnector

    kinds: dict[str, type] = {
        ChannelConnection.Kind.SHOPIFY: ShopifyConnector,
        ChannelConnection.Kind.WOOCOMMERCE: WooCommerceConnector,
        ChannelConnection.Kind.FEED: FeedConnector,
    }
    connector: Connector = kinds[connection.kind](connection, credentials_decrypt(connection.credentials))
    return connector
