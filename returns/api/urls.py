from django.urls import path

from returns.api import goodwill, views

urlpatterns = [
    path("returns/", views.ReturnListCreateView.as_view(), name="return-list"),
    path("returns/<int:id>/", views.ReturnDetailView.as_view(), name="return-detail"),
    path("returns/<int:id>/authorize/", views.ReturnAuthorizeView.as_view(), name="return-authorize"),
    path("returns/<int:id>/reject/", views.ReturnRejectView.as_view(), name="return-reject"),
    path("returns/<int:id>/receive/", views.ReturnReceiveView.as_view(), name="return-receive"),
    path("returns/<int:id>/inspect/", views.ReturnInspectView.as_view(), name="return-inspect"),
    path("returns/<int:id>/refund/", views.ReturnRefundView.as_view(), name="return-refund"),
]
urlpatterns += [
    path("claims/", goodwill.ClaimCreateView.as_view(), name="claim-create"),
    path("claims/<int:id>/", goodwill.ClaimDetailView.as_view(), name="claim-detail"),
    path("claims/<int:id>/approve/", goodwill.ClaimApproveView.as_view(), name="claim-approve"),
    path("orders/<str:number>/appeasements/", goodwill.OrderAppeasementsView.as_view(), name="order-appeasements"),
]
