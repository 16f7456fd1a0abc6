from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from routing.dashboard_views import dashboard_view
from supportbot.health import healthz_view, readyz_view
from supportbot.metrics import metrics_view

urlpatterns = [
    # Before admin.site.urls, which would read "dashboard" as an app label.
    path("admin/dashboard/", admin.site.admin_view(dashboard_view), name="admin-dashboard"),
    path("admin/", admin.site.urls),
    path("help/", include("routing.knowledge.urls")),
    path("metrics", metrics_view, name="metrics"),
    path("healthz", healthz_view, name="healthz"),
    path("readyz", readyz_view, name="readyz"),
    path("console/", include("conversations.console.urls")),
    path("", include("conversations.urls")),
]
