"""Beat's sweep for agents who left while no web process was there to notice (a restart, a crash).

Apart from ``conversations.tasks`` because it calls ``conversations.handoff``, which imports that module to
enqueue its own tasks. Registered with Celery from ``ConversationsConfig.ready``, as the integration tasks are.
"""

from __future__ import annotations

from celery import shared_task

from conversations import handoff, tasks


@shared_task(name="conversations.agents_absent_return", soft_time_limit=20, time_limit=30, **tasks.TASK_OPTIONS)
def agents_absent_return() -> int:
    """Beat: chats held by an agent whose consoles went silent go back to the queue, whatever happened to
    the web process that saw them leave."""
    return handoff.agents_absent_return()
