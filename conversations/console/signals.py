"""Logging out of the console closes that agent's open console sockets, on every process, and the
chats the agent held go back to the queue (``handoff.agent_gone``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from conversations import handoff
from conversations.doorbells import console_logout_ring


@receiver(user_logged_out, dispatch_uid="console_close_on_logout")
def console_close_on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        console_logout_ring(agent_id=user.pk)
        handoff.agent_gone(agent_id=user.pk)
