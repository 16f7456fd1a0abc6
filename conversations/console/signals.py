"""Logging out of the console closes that agent's open console sockets, on every process."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from conversations.handoff import console_agent_group


@receiver(user_logged_out, dispatch_uid="console_close_on_logout")
def console_close_on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    layer = get_channel_layer()
    if user is not None and layer is not None:
        async_to_sync(layer.group_send)(console_agent_group(user.pk), {"type": "console.logout"})
