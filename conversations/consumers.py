from __future__ import annotations
from channels.generic.websocket import AsyncWebsocketConsumer
class WidgetConsumer(AsyncWebsocketConsumer):
    pass
