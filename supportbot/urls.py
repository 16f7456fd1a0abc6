from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from supportbot.health import healthz_view, readyz_view


def favicon_view(request: HttpRequest) -> HttpResponse:
    """No icon, said so: browsers ask every page for /favicon.ico, and a 404 is an error in their console."""
    return HttpResponse(status=204, headers={"Cache-Control": "public, max-age=86400"})


urlpatterns = [
    path("favicon.ico", favicon_view),
    # Reporting first: its admin dashboard sits under admin/ and must win over the admin's own URLs.
    path("", include("reporting.urls")),
    path("admin/", admin.site.urls),
    path("help/", include("helpcentre.urls")),
    path("healthz", healthz_view, name="healthz"),
    path("readyz", readyz_view, name="readyz"),
    path("console/", include("conversations.console.urls")),
    path("", include("conversations.urls")),
]
