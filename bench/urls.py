"""The production URLs plus the bench's ceiling endpoint (bench.settings only)."""

from django.urls import path

from bench.ceiling import CeilingView
from oms.urls import handler404, handler500  # noqa: F401
from oms.urls import urlpatterns as oms_urlpatterns

urlpatterns = [path("bench/ceiling/", CeilingView.as_view()), *oms_urlpatterns]
