from __future__ import annotations

from django.urls import path

from conversations.console import views

urlpatterns = [
    path("", views.console_home, name="console"),
    path("login/", views.ConsoleLoginView.as_view(), name="console-login"),
    path("logout/", views.ConsoleLogoutView.as_view(), name="console-logout"),
]
