"""The help centre mounted where the project mounts it, for view tests."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [path("help/", include("helpcentre.urls"))]
