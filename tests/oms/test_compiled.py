"""A query compiled once per shape answers as the ORM does for every value given to it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Value
from django.db.models.functions import Upper
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oms.compiled import CompiledQuery
from oms.models import Merchant
from tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("plan_each_run", [False, True], ids=["values as parameters", "values in the text"])
def test_a_compiled_query_is_built_once_per_shape_and_runs_with_each_runs_values(plan_each_run):
    acme = MerchantFactory(code="acme", name="Acme")
    MerchantFactory(code="globex", name="Globex")
    built = []

    def build(shape, m):
        built.append(shape)
        codes = [m[f"code{i}"].text() for i in range(shape)]
        since = m["since"].moment()
        matching = Merchant.objects.filter(code__in=codes, created_at__gte=since, name=Upper(Value(m["name"].text())))
        return Merchant.objects.filter(pk=m["pk"].integer()).values("code", others=matching.values("pk")[:1])

    query = CompiledQuery(build, plan_each_run=plan_each_run)
    hour_ago = timezone.now() - timedelta(hours=1)
    Merchant.objects.filter(pk=acme.pk).update(name="ACME")
    row = query.run(2, {"pk": acme.pk, "code0": "acme", "code1": "globex", "since": hour_ago, "name": "acme"})
    assert row == {"code": "acme", "others": acme.pk}
    with CaptureQueriesContext(connection) as queries:
        later = query.run(
            2, {"pk": acme.pk, "code0": "x' OR ''='%s", "code1": "acme", "since": timezone.now(), "name": "acme"}
        )
    assert later == {"code": "acme", "others": None}, "created before `since`: the new values were used"
    assert len(queries) == 1
    assert query.run(1, {"pk": 0, "code0": "acme", "since": hour_ago, "name": "acme"}) is None
    assert built == [2, 1], "built once per shape"


def test_a_value_compiled_into_the_sql_text_is_refused():
    """A slice's bound is written into the SQL: a marker there could never take a run's value."""
    query = CompiledQuery(lambda shape, m: Merchant.objects.values("pk")[: m["limit"].integer() * -1])
    with pytest.raises(ValueError, match="limit"):
        query.run(None, {"limit": 2})
