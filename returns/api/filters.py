"""Filters of GET /api/v1/returns/."""

from __future__ import annotations

import django_filters

from returns.models import Return, ReturnStatus


class ReturnFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=ReturnStatus.choices)
    method = django_filters.ChoiceFilter(choices=Return.Method.choices)
    order = django_filters.CharFilter(field_name="order__number")
    node = django_filters.CharFilter(field_name="node__code")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Return
        fields = ["status", "method", "order", "node", "created_after", "created_before"]
