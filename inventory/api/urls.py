from django.urls import path

from inventory.api import views

urlpatterns = [
    path("products/", views.ProductListCreateView.as_view(), name="product-list"),
    path("products/bulk/", views.ProductBulkView.as_view(), name="product-bulk"),
    path("products/<str:sku>/", views.ProductDetailView.as_view(), name="product-detail"),
    path("nodes/", views.NodeListCreateView.as_view(), name="node-list"),
    path("nodes/<str:code>/", views.NodeDetailView.as_view(), name="node-detail"),
    path("availability/", views.AvailabilityView.as_view(), name="availability"),
    path(
        "channels/<str:code>/availability-rule/",
        views.ChannelRuleView.as_view(),
        name="channel-availability-rule",
    ),
    path("inventory/adjustments/", views.AdjustmentsView.as_view(), name="inventory-adjustments"),
    path("inventory/snapshots/", views.SnapshotCreateView.as_view(), name="inventory-snapshots"),
    path(
        "inventory/snapshots/<str:snapshot_id>/",
        views.SnapshotDetailView.as_view(),
        name="inventory-snapshot-detail",
    ),
]
