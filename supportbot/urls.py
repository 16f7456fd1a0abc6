from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from routing.dashboard_views import dashboard_view
from supportbot.metrics import metrics_view

urlpatterns = [
    # Before admin.site.urls, which would read "dashboard" as an app label.
    path("admin/dashboard/", admin.site.admin_view(dashboard_view), name="admin-dashboard"),
    path("admin/", admin.site.urls),
    path("help/", include("helpcentre.urls")),
    path("metrics", metrics_view, name="metrics"),
    path("console/", include("conversations.console.urls")),
    path("", include("conversations.urls")),
]
