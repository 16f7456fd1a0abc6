from __future__ import annotations

from channels.auth import AuthMiddlewareStack
from django.urls import path

from conversations.console.consumers import ConsoleConsumer
from conversations.consumers import WidgetConsumer

websocket_urlpatterns = [
    path("ws/widget/", WidgetConsumer.as_asgi()),
    # The console reads the agent's Django session; the widget never sees a cookie.
    path("ws/console/", AuthMiddlewareStack(ConsoleConsumer.as_asgi())),
]
