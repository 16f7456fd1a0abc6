"""Logging out of the console closes that agent's open console sockets, on every process."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from conversations.doorbells import console_logout_ring


@receiver(user_logged_out, dispatch_uid="console_close_on_logout")
def console_close_on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        console_logout_ring(agent_id=user.pk)
