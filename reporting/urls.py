from __future__ import annotations

from django.contrib import admin
from django.urls import path

from reporting.metrics import metrics_view
from reporting.views import dashboard_view

urlpatterns = [
    # Mounted before admin.site.urls, which would read "dashboard" as an app label.
    path("admin/dashboard/", admin.site.admin_view(dashboard_view), name="admin-dashboard"),
    path("metrics", metrics_view, name="metrics"),
]
