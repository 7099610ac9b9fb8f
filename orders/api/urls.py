from django.urls import path

from orders.api import payments, views

urlpatterns = [
    path("orders/", views.OrderListCreateView.as_view(), name="order-list"),
    path("orders/<str:number>/", views.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<str:number>/cancel/", views.OrderCancelView.as_view(), name="order-cancel"),
    path("orders/<str:number>/cancel/preview/", views.OrderCancelPreviewView.as_view(), name="order-cancel-preview"),
    path("orders/<str:number>/payments/", payments.OrderPaymentsView.as_view(), name="order-payments"),
    path("orders/<str:number>/refunds/", payments.OrderRefundsView.as_view(), name="order-refunds"),
]
