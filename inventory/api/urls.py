from django.urls import path

from inventory.api import views

urlpatterns = [
    path("products/", views.ProductListCreateView.as_view(), name="product-list"),
    path("products/bulk/", views.ProductBulkView.as_view(), name="product-bulk"),
    path("products/<str:sku>/", views.ProductDetailView.as_view(), name="product-detail"),
]
