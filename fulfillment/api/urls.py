from django.urls import path

from fulfillment.api import fulfillment_orders as fo
from fulfillment.api import routing, tracking

urlpatterns = [
    path("fulfillment-orders/", fo.FulfillmentOrderListView.as_view(), name="fulfillment-order-list"),
    path("fulfillment-orders/<int:id>/", fo.FulfillmentOrderDetailView.as_view(), name="fulfillment-order-detail"),
    path("fulfillment-orders/<int:id>/accept/", fo.AcceptView.as_view(), name="fulfillment-order-accept"),
    path("fulfillment-orders/<int:id>/reject/", fo.RejectView.as_view(), name="fulfillment-order-reject"),
    path("fulfillment-orders/<int:id>/pick/", fo.PickView.as_view(), name="fulfillment-order-pick"),
    path("fulfillment-orders/<int:id>/pack/", fo.PackView.as_view(), name="fulfillment-order-pack"),
    path("fulfillment-orders/<int:id>/ship/", fo.ShipView.as_view(), name="fulfillment-order-ship"),
    path("fulfillment-orders/<int:id>/cancel/", fo.CancelConfirmView.as_view(), name="fulfillment-order-cancel"),
    path("fulfillment-orders/<int:id>/picked-up/", fo.PickedUpView.as_view(), name="fulfillment-order-picked-up"),
    path("shipments/<int:shipment_id>/label.pdf", fo.LabelPdfView.as_view(), name="shipment-label-pdf"),
    path("shipments/<int:shipment_id>/label.zpl", fo.LabelZplView.as_view(), name="shipment-label-zpl"),
    path("shipments/<int:shipment_id>/packing-slip.pdf", fo.PackingSlipView.as_view(), name="shipment-packing-slip"),
    path("tracking-events/", tracking.TrackingEventView.as_view(), name="tracking-events"),
    path("tracking-events/easypost/", tracking.EasyPostEventView.as_view(), name="tracking-events-easypost"),
    path("orders/<str:number>/tracking/", tracking.OrderTrackingView.as_view(), name="order-tracking"),
    path("orders/<str:number>/routing/", routing.OrderRoutingView.as_view(), name="order-routing"),
]
