from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, QuerySet

from orders.models import Hold, Order, OrderLine, OrderStatus
from orders.search import order_search


class OrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=OrderStatus.choices)
    channel = django_filters.CharFilter(field_name="channel__code")
    external_id = django_filters.CharFilter()
    channel_order_name = django_filters.CharFilter(
        lookup_expr="icontains", label="A part of the channel's own order name: #10 finds #1001"
    )
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact", label="Customer e-mail")
    sku = django_filters.CharFilter(method="filter_sku", label="Has a line with this SKU")
    placed_after = django_filters.IsoDateTimeFilter(field_name="placed_at", lookup_expr="gte")
    placed_before = django_filters.IsoDateTimeFilter(field_name="placed_at", lookup_expr="lt")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    has_open_hold = django_filters.BooleanFilter(method="filter_open_hold")
    q = django_filters.CharFilter(method="filter_search", label="Search (as the admin's search box, orders.search)")

    class Meta:
        model = Order
        fields: list[str] = []

    def filter_sku(self, queryset: QuerySet[Order], name: str, value: str) -> QuerySet[Order]:
        return queryset.filter(Exists(OrderLine.objects.filter(order=OuterRef("pk"), sku=value)))

    def filter_search(self, queryset: QuerySet[Order], name: str, value: str) -> QuerySet[Order]:
        return order_search(queryset, value)

    def filter_open_hold(self, queryset: QuerySet[Order], name: str, value: bool) -> QuerySet[Order]:
        open_hold = Exists(Hold.objects.filter(order=OuterRef("pk"), resolved_at__isnull=True))
        return queryset.filter(open_hold if value else ~open_hold)
