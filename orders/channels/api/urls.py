from django.urls import path

from orders.channels.api import views

urlpatterns = [
    path("channels/connections/", views.ConnectionListCreateView.as_view(), name="channel-connection-list"),
    path("channels/connections/<uuid:uuid>/", views.ConnectionDetailView.as_view(), name="channel-connection-detail"),
    path("channels/connections/<uuid:uuid>/runs/", views.RunListView.as_view(), name="channel-connection-runs"),
    path("channels/connections/<uuid:uuid>/sync/", views.SyncNowView.as_view(), name="channel-connection-sync"),
    path("channels/connections/<uuid:uuid>/sku-map/", views.SkuMapView.as_view(), name="channel-connection-sku-map"),
    path(
        "channels/connections/<uuid:uuid>/sku-map/sync/",
        views.SkuMapSyncView.as_view(),
        name="channel-connection-sku-map-sync",
    ),
    path("channels/connections/<uuid:uuid>/feed/", views.FeedUploadView.as_view(), name="channel-connection-feed"),
    path(
        "channels/connections/<uuid:uuid>/webhooks/",
        views.WebhookIntakeView.as_view(),
        name="channel-connection-webhooks",
    ),
]
