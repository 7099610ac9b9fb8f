from django.urls import path

from reports import api

urlpatterns = [
    path("finance/daily/", api.FinanceDailyView.as_view(), name="finance-daily"),
    path("erp/records/", api.ErpRecordsView.as_view(), name="erp-records"),
]
