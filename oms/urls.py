from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from oms import health
from returns.views import return_label

handler404 = "oms.api.errors.json_404"
handler500 = "oms.api.errors.json_500"

api_v1 = [
    path("", include("inventory.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("orders.channels.api.urls")),
    path("", include("fulfillment.api.urls")),
    path("", include("notifications.api.urls")),
    path("", include("returns.api.urls")),
    path("", include("reports.urls")),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("returns/labels/<str:token>/", return_label, name="return-label"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
