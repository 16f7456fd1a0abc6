"""The Celery queues, named in one enum so producers, workers and the metrics agree.

It sits at the bottom of the app (it imports nothing of it): the tasks route by it and the
selectors hand its names to ``/metrics``, which reads each queue's length from the broker.
"""

from __future__ import annotations

from enum import StrEnum

from kombu import Connection
from kombu.exceptions import ChannelError

# A scrape must not hang on an unreachable broker: it reports the broker as down instead.
BROKER_TIMEOUT_S = 1.0


class Queue(StrEnum):
    """Queue names in one enum, so producers and workers agree (``worker -Q celery,handoff,summary,integrations``)."""

    DEFAULT = "celery"
    HANDOFF = "handoff"
    SUMMARY = "summary"
    # Email and webhooks wait on other people's servers: their own queue keeps that off handoffs.
    INTEGRATIONS = "integrations"


def queue_lengths(*, broker_url: str, queues: list[str]) -> dict[str, int]:
    """Messages waiting in each queue, read from the broker (LLEN of each Redis list, priorities
    included); raises the transport's error when the broker cannot be reached."""
    options = {"socket_timeout": BROKER_TIMEOUT_S, "socket_connect_timeout": BROKER_TIMEOUT_S}
    with Connection(broker_url, connect_timeout=BROKER_TIMEOUT_S, transport_options=options) as connection:
        connection.ensure_connection(max_retries=0)
        channel = connection.default_channel
        return {queue: _queue_length(channel, queue=queue) for queue in queues}


def _queue_length(channel: object, *, queue: str) -> int:
    try:
        _, message_count, _ = channel.queue_declare(queue=queue, passive=True)  # type: ignore[attr-defined]
    except ChannelError:
        return 0  # Redis deletes an emptied list: a queue nobody has sent to yet is empty, not missing
    return int(message_count)
