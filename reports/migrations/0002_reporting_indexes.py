"""Indexes the KPI queries need on other apps' tables, kept here so those apps' migrations
stay theirs: the report finds a day's shipped, delivered and packed objects by time
(docs/KPIS.md). Plain CREATE INDEX works on PostgreSQL and SQLite alike."""

from django.db import migrations

INDEXES = [
    ("reports_shipment_shipped_at", "fulfillment_shipment", "shipped_at"),
    ("reports_shipment_delivered_at", "fulfillment_shipment", "delivered_at"),
    ("reports_fo_packed_at", "fulfillment_fulfillmentorder", "packed_at"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("fulfillment", "0007_routing_trigger_amendment"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column})",
            reverse_sql=f"DROP INDEX IF EXISTS {name}",
        )
        for name, table, column in INDEXES
    ]
