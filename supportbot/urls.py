from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    # Reporting first: its admin dashboard sits under admin/ and must win over the admin's own URLs.
    path("", include("reporting.urls")),
    path("admin/", admin.site.urls),
    path("help/", include("helpcentre.urls")),
    path("console/", include("conversations.console.urls")),
    path("", include("conversations.urls")),
]
