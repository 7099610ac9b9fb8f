from django.urls import path

from returns.api import views

urlpatterns = [
    path("returns/", views.ReturnListCreateView.as_view(), name="return-list"),
    path("returns/<int:id>/", views.ReturnDetailView.as_view(), name="return-detail"),
    path("returns/<int:id>/authorize/", views.ReturnAuthorizeView.as_view(), name="return-authorize"),
    path("returns/<int:id>/reject/", views.ReturnRejectView.as_view(), name="return-reject"),
    path("returns/<int:id>/receive/", views.ReturnReceiveView.as_view(), name="return-receive"),
    path("returns/<int:id>/inspect/", views.ReturnInspectView.as_view(), name="return-inspect"),
    path("returns/<int:id>/refund/", views.ReturnRefundView.as_view(), name="return-refund"),
]
