from django.urls import path

from notifications.api import views

urlpatterns = [
    path("webhooks/", views.SubscriptionListCreateView.as_view(), name="webhook-list"),
    path("webhooks/event-types/", views.EventTypesView.as_view(), name="webhook-event-types"),
    path("webhooks/<uuid:webhook_id>/", views.SubscriptionDetailView.as_view(), name="webhook-detail"),
    path("webhooks/<uuid:webhook_id>/deliveries/", views.DeliveryListView.as_view(), name="webhook-deliveries"),
]
