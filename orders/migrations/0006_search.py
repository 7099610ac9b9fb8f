import django.db.models.fields.json
import django.db.models.functions.text
from django.db import migrations, models

from oms.pg_search import trigram_indexes


class Migration(migrations.Migration):
    """Order search (orders.search): trigram indexes on PostgreSQL, the postal code on both."""

    dependencies = [
        ('orders', '0005_merge_0004_channels_0004_refund_source'),
    ]

    operations = [
        *trigram_indexes(
            ("order_number_trgm", "orders_order", "number"),
            ("order_external_id_trgm", "orders_order", "external_id"),
            ("order_channel_name_trgm", "orders_order", "channel_order_name"),
            ("order_email_trgm", "orders_order", "email"),
            ("order_phone_trgm", "orders_order", "phone"),
            ("orderline_sku_trgm", "orders_orderline", "sku"),
            ("orderline_name_trgm", "orders_orderline", "name"),
        ),
        # Postal codes are matched whole (case-insensitive): a plain expression index, both databases.
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                django.db.models.functions.text.Upper(
                    django.db.models.fields.json.KeyTextTransform("postal_code", "shipping_address")
                ),
                name="order_postal_code",
            ),
        ),
    ]
