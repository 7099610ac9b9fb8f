from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import payloads


def statements(ctx: CaptureQueriesContext) -> int:
    """Queries, leaving out the savepoints that exist only because the test wraps a transaction."""
    return sum(1 for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"])


@pytest.mark.django_db
def test_capture_runs_a_bounded_number_of_queries_whatever_the_order_size(api, settings):
    """The hot path, from the API key to the rendered 201: about two dozen queries (26), and the
    same number for one line or two (no query per line)."""
    # The per-process caches check their versions at most once a second (one query): keep
    # that check out of the comparison, whenever the clock lets it fall.
    settings.OMS_CACHE_CHECK_SECONDS = 3600
    api.client.post("/api/v1/orders/", payloads.order(external_id="warm-up"), format="json")
    with CaptureQueriesContext(connection) as one_line:
        assert api.client.post("/api/v1/orders/", payloads.order(external_id="Q-1"), format="json").status_code == 201
    body = payloads.order(external_id="Q-2", total="88.36")
    body["lines"].append({"sku": "TSHIRT-BLUE-M", "quantity": 2, "unit_price": "19.99"})
    body["payment"]["amount"] = "88.36"
    with CaptureQueriesContext(connection) as two_lines:
        assert api.client.post("/api/v1/orders/", body, format="json").status_code == 201
    assert statements(one_line) <= 26
    assert statements(two_lines) == statements(one_line)
