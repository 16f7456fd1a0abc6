from __future__ import annotations

from django.urls import path

from conversations import views

urlpatterns = [
    path("", views.demo_shop, name="demo-shop"),
    path("api/widget/session", views.widget_session, name="widget-session"),
]
