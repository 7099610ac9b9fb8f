from django.db import migrations

from oms.pg_search import trigram_indexes


class Migration(migrations.Migration):
    """Order search finds an order by part of a tracking number (orders.search): PostgreSQL only."""

    dependencies = [
        ("fulfillment", "0008_tracking_event_for_hooks"),
        ("orders", "0006_search"),  # creates the pg_trgm extension first
    ]

    operations = [*trigram_indexes(("shipment_tracking_trgm", "fulfillment_shipment", "tracking_number"))]
