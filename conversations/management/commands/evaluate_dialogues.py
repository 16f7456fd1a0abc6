"""Play multi-turn dialogues through the widget's websocket consumer and score the answers.

Each dialogue is a new visitor: a session, ``hello``, then its customer messages one at a time,
each waiting for the stored answer or the handoff, exactly as the widget would. It runs on the
offline engine in a throwaway database (the configured database's published articles copied
in, or the demo help centre when it has none), with the in-process channel layer and cache, so
it never touches the product's conversations, queue or answer cache.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connections
from django.test.utils import override_settings, setup_databases, teardown_databases

from conversations.dialogues import (
    Dialogue,
    DialogueFileError,
    DialogueReport,
    TurnOutcome,
    dialogues_read,
    dialogues_summary_lines,
    turn_judge,
)

# The first answer of a run builds the help-centre index and loads the encoder: seconds, not ms.
ANSWER_TIMEOUT_S = 60.0
# After an answer the same turn may still hand off (two misses in a row): wait this long for it.
AFTER_ANSWER_WAIT_S = 0.15
EVALUATION_SETTINGS: dict[str, Any] = {
    "OPENAI_API_KEY": "",
    "SUPPORTBOT_OFFLINE_WORD_DELAY_MS": 0,
    "SUPPORTBOT_MESSAGES_PER_MINUTE": 0,
    "SUPPORTBOT_BUSINESS_HOURS": "always",
    "CHANNEL_LAYERS": {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
    "CACHES": {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
}


class Command(BaseCommand):
    help = (
        "Play a JSON file of dialogues ([{name, turns: [{say, expect, facts}]}]) through the widget consumer "
        "on the offline engine and print the share of turns answered right, overall and per kind."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        articles = _published_articles()
        with _throwaway_product():
            keys = _help_centre_fill(articles)
            try:
                dialogues = dialogues_read(path=path, known_keys=keys)
            except DialogueFileError as error:
                raise CommandError(str(error)) from error
            report = asyncio.run(dialogues_play(dialogues=dialogues))
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict()))
        else:
            lines = dialogues_summary_lines(report=report, show_answers=options["verbosity"] >= 2)
            self.stdout.write("\n".join(lines))


def _published_articles() -> list[Any]:
    from helpcentre.models import Article

    try:
        return [article.as_data() for article in Article.objects.filter(published=True)]
    except DatabaseError:  # not migrated yet: the demo help centre will do
        return []


def _help_centre_fill(articles: list[Any]) -> set[str]:
    from helpcentre.models import Article
    from helpcentre.services import articles_upsert, demo_helpcentre_load

    if articles:
        articles_upsert(articles=articles)
    else:
        demo_helpcentre_load()
    return set(Article.objects.filter(published=True).values_list("key", flat=True))


@contextmanager
def _throwaway_product() -> Iterator[None]:
    """A fresh database, in-process channel layer and cache, the offline engine, tasks run inline."""
    from celery import current_app as celery_app

    from routing.services import gateway_reset

    eager = celery_app.conf.task_always_eager
    with override_settings(**EVALUATION_SETTINGS), tempfile.TemporaryDirectory() as directory:
        _test_database_name_set(directory)
        databases = setup_databases(verbosity=0, interactive=False, aliases={"default": False}, serialized_aliases=())
        celery_app.conf.task_always_eager = True
        gateway_reset()
        try:
            yield
        finally:
            celery_app.conf.task_always_eager = eager
            gateway_reset()
            teardown_databases(databases, verbosity=0)


def _test_database_name_set(directory: str) -> None:
    """A database name of its own, so a run never meets the test suite's database (or another run's)."""
    settings_dict = connections["default"].settings_dict
    if settings_dict["ENGINE"].endswith("sqlite3"):
        name = str(Path(directory) / "evaluate-dialogues.sqlite3")
    else:
        name = f"test_{settings_dict['NAME']}_dialogues_{Path(directory).name[-8:].lower()}"
    settings_dict["TEST"] = {**settings_dict.get("TEST", {}), "NAME": name}


async def dialogues_play(*, dialogues: list[Dialogue]) -> DialogueReport:
    report = DialogueReport()
    for dialogue in dialogues:
        outcomes = await dialogue_play(dialogue=dialogue)
        for turn, outcome in zip(dialogue.turns, outcomes, strict=True):
            report.add(dialogue=dialogue.name, verdict=turn_judge(turn=turn, outcome=outcome))
    return report


async def dialogue_play(*, dialogue: Dialogue) -> list[TurnOutcome]:
    """One visitor's conversation, a turn at a time; the outcome of each turn, in order."""
    from conversations.services import conversation_open
    from conversations.ws_urls import websocket_urlpatterns

    origin = settings.SUPPORTBOT_ALLOWED_ORIGINS[0]
    conversation, token = await database_sync_to_async(conversation_open)(origin=origin)
    socket = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns), "/ws/widget/", headers=[(b"origin", origin.encode())]
    )
    connected, _ = await socket.connect()
    if not connected:
        raise CommandError("the widget socket refused the connection")
    try:
        await socket.send_json_to({"type": "hello", "token": token, "last_seq": 0})
        ready = await socket.receive_json_from(timeout=ANSWER_TIMEOUT_S)
        if ready.get("type") != "ready":
            raise CommandError(f"expected 'ready' after hello, got {ready}")
        with_person = ready.get("status") != "bot"
        outcomes: list[TurnOutcome] = []
        for number, turn in enumerate(dialogue.turns, 1):
            if with_person:
                # Already handed off: the bot stays silent while the customer waits for a person.
                outcomes.append(TurnOutcome(handed_off=True))
                continue
            await socket.send_json_to({"type": "message", "text": turn.say, "client_id": f"turn-{number}"})
            try:
                outcome = await _turn_outcome(socket, client_id=f"turn-{number}")
            except TimeoutError:
                # No answer at all: this turn and the rest count as unanswered (the socket is gone).
                return outcomes + [TurnOutcome()] * (len(dialogue.turns) - len(outcomes))
            with_person = outcome.handed_off
            outcomes.append(outcome)
        return outcomes
    finally:
        with suppress(asyncio.CancelledError):
            await socket.disconnect()


async def _turn_outcome(socket: WebsocketCommunicator, *, client_id: str) -> TurnOutcome:
    asked_seq: int | None = None
    answer: dict[str, Any] | None = None
    while answer is None:
        frame = await socket.receive_json_from(timeout=ANSWER_TIMEOUT_S)
        if frame.get("type") == "error":
            raise CommandError(f"the consumer refused a turn: {frame}")
        if frame.get("type") != "message":
            continue
        if frame.get("client_id") == client_id:
            asked_seq = frame["seq"]
        elif _is_handoff(frame):
            return TurnOutcome(text=frame.get("text", ""), handed_off=True)
        elif frame.get("role") == "assistant" and asked_seq is not None and frame.get("reply_to") == asked_seq:
            answer = frame
    # The same turn may still hand off right after its answer (the second miss in a row). A timed-out
    # receive would cancel the consumer, so poll: queue-position frames may keep coming meanwhile.
    handed_off = False
    deadline = time.monotonic() + AFTER_ANSWER_WAIT_S
    while time.monotonic() < deadline:
        if not await socket.receive_nothing(timeout=0.02, interval=0.005):
            handed_off = handed_off or _is_handoff(await socket.receive_json_from())
    citations = answer.get("citations") or []
    return TurnOutcome(
        text=answer.get("text", ""),
        cited_keys=tuple(citation["key"] for citation in citations if citation.get("key")),
        handed_off=handed_off,
    )


def _is_handoff(frame: dict[str, Any]) -> bool:
    data = frame.get("data") or {}
    return frame.get("kind") == "event" and data.get("event") == "handoff_requested"
