"""A hostile OpenAI-compatible server, end to end: widget socket, consumer, answering, gateway, database.

Each case points the product at ``bench.hostile_server`` with the named behaviour on Instant
(where the question is routed) and a well-behaved Mini behind it, asks through the real ASGI
application, and checks what the customer saw, what was stored and the ledger rows against the
one expected outcome in ``tests/hardening/hostile_expectations.py``. What each run observed is
recorded for the conformance table in docs/reliability.md.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async

from bench.hostile_server import HostileServer, hostile_model
from conversations.answering import INCOMPLETE_TEXT
from conversations.models import Conversation, Message
from routing.gateway import FAILOVER_NOTICE, TRUNCATED_NOTICE
from routing.models import LedgerEntry, Tier
from tests.conftest import frames_until
from tests.hardening.hostile_expectations import (
    CASES,
    FAILOVER,
    FIRST_CALL_ERRORS,
    REFUSED,
    TRUNCATED,
    Outcome,
    ledger_row_text,
    stored_kind,
)

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = "Where is my order?"  # routed to Instant, whose fallback is Mini
NOTICES = {FAILOVER_NOTICE: FAILOVER, TRUNCATED_NOTICE: TRUNCATED}
# Tier deadlines for the test: the stall (2 s) outlasts the 1 s first-token and idle deadlines; the trickle
# (a chunk every 20 ms) is cut by the 64-token cap, at 136 chunks, well before the 8 s total.
FIRST_TOKEN_S, TOTAL_S, STALL_S, TRICKLE_S, MAX_OUTPUT_TOKENS = 1.0, 8.0, 2.0, 0.02, 64
TIERS = {
    # name: (context window, input, cached input and output price per 1k, latency target, fallbacks)
    "mini": (4096, "0.0008", "0.0004", "0.0010", 500, ""),
    "instant": (8192, "0.0020", "0.0010", "0.0025", 800, "mini"),
    "thinking": (12288, "0.0035", "0.00175", "0.0040", 4000, "instant,mini"),
    "pro": (16384, "0.0050", "0.0025", "0.0060", 6000, "thinking,instant,mini"),
}


def is_answer(frame: dict) -> bool:
    return frame["type"] == "message" and frame["role"] == "assistant"


def tiers_for_the_test() -> None:
    for name, (window, price_in, price_cached, price_out, latency_ms, fallbacks) in TIERS.items():
        Tier.objects.update_or_create(
            name=name,
            defaults=dict(
                model="",  # the SUPPORTBOT_MODEL_<TIER> setting
                context_window=window,
                price_input_per_1k=Decimal(price_in),
                price_cached_input_per_1k=Decimal(price_cached),
                price_output_per_1k=Decimal(price_out),
                latency_target_ms=latency_ms,
                enabled=True,
                first_token_timeout_s=FIRST_TOKEN_S,
                idle_timeout_s=FIRST_TOKEN_S,
                total_timeout_s=TOTAL_S,
                fallbacks=fallbacks,
            ),
        )


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer(stall_s=STALL_S, trickle_interval_s=TRICKLE_S)
    server.serve_in_thread()
    yield server
    server.close()


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A port bound but not listening: every connection to it is refused while the test holds it."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{unused.getsockname()[1]}/v1"


def _stored(public_id: str) -> tuple[Conversation, Message, list[LedgerEntry]]:
    conversation = Conversation.objects.get(public_id=public_id)
    answer = Message.objects.get(conversation=conversation, role=Message.Role.ASSISTANT)
    return conversation, answer, list(LedgerEntry.objects.filter(conversation=conversation).order_by("id"))


@pytest.mark.item(14)
@pytest.mark.parametrize("behaviour", list(CASES))
async def test_a_hostile_server_behaviour_ends_as_the_case_table_says(
    widget, customer_session, hostile, refused_url, settings, caplog, behaviour, figures
):
    await database_sync_to_async(tiers_for_the_test)()
    settings.OPENAI_API_KEY = "sk-test"
    settings.OPENAI_BASE_URL = refused_url if behaviour == REFUSED else hostile.url
    settings.SUPPORTBOT_ANSWER_MAX_OUTPUT_TOKENS = MAX_OUTPUT_TOKENS
    instant = "fine-instant" if behaviour == REFUSED else hostile_model(behaviour)
    settings.SUPPORTBOT_MODELS = {"instant": instant, "mini": "fine-mini", "thinking": "fine-t", "pro": "fine-p"}
    caplog.set_level(logging.INFO, logger="routing.gateway")
    started = time.monotonic()

    await widget.send_json_to({"type": "message", "text": QUESTION, "client_id": "q"})
    frames = await frames_until(widget, is_answer, timeout=30)
    seconds = time.monotonic() - started
    conversation, answer, ledger = await database_sync_to_async(_stored)(customer_session[0])

    # What the customer saw.
    assert next(frame for frame in frames if frame["type"] == "typing")["tier"] == "instant"
    tokens = [frame for frame in frames if frame["type"] in ("token", "notice")]
    notices = [NOTICES[frame["text"]] for frame in tokens if frame["type"] == "notice"]
    streamed = "".join(frame["text"] for frame in tokens if frame["type"] == "token")
    stored = stored_kind(answer.text)
    observed = Outcome(
        answered_by="" if stored == "apology" else answer.tier,
        stored=stored,
        notice=notices[0] if notices else "",
        ledger=tuple(
            ledger_row_text(outcome=row.outcome, usage_estimated=row.usage_estimated, error=row.error) for row in ledger
        ),
    )
    expected = CASES[behaviour].expected
    figures.update(
        behaviour=behaviour,
        expected=expected.text(),
        observed=observed.text(),
        upstream_calls=len(ledger),
        dollars=f"{conversation.total_cost:.8f}",
        seconds_to_answer=round(seconds, 2),
    )
    assert observed == expected
    assert len(notices) <= 1
    # The stored answer is what the customer was shown: the final frame, and the streamed text.
    assert frames[-1]["text"] == answer.text and frames[-1]["seq"] == answer.seq
    assert streamed == ("" if stored == "apology" else answer.text)
    assert frames[-1].get("fell_back", False) == (answer.fell_back or answer.failed_over_mid_stream)
    assert answer.failed_over_mid_stream == (observed.notice == FAILOVER)
    if stored != "apology":  # how the apology is attributed is answering's business, not the provider's
        assert answer.fell_back == (observed.answered_by == "mini")
    if stored == "partial + continuation":
        # The notice comes between the cut text and its continuation, and the cut text is kept.
        notice_at = next(index for index, frame in enumerate(tokens) if frame["type"] == "notice")
        partial = "".join(frame["text"] for frame in tokens[:notice_at])
        assert partial and "fine" not in partial and answer.text.startswith(partial)
        assert tokens[notice_at + 1]["text"].startswith("fine")

    assert FIRST_CALL_ERRORS.get(behaviour, "") in ledger[0].error
    assert (ledger[0].error == "") == (behaviour not in FIRST_CALL_ERRORS)

    # One ledger row per upstream call, all on this answer; the totals are their sum.
    if behaviour != REFUSED:
        assert len(ledger) == len(hostile.requests)
    assert all(row.message_id == answer.pk for row in ledger)
    assert answer.cost == conversation.total_cost == sum((row.cost for row in ledger), Decimal(0))
    assert conversation.total_input_tokens == sum(row.input_tokens for row in ledger) == answer.input_tokens
    assert conversation.total_output_tokens == sum(row.output_tokens for row in ledger) == answer.output_tokens

    # A refusal that will not go away is one error line naming the tier and the model; nothing else is.
    gateway_errors = [r for r in caplog.records if r.name == "routing.gateway" and r.levelno >= logging.ERROR]
    if behaviour.startswith("http-"):
        [line] = [record.getMessage() for record in gateway_errors]
        assert f"tier instant (model {instant})" in line and behaviour[-3:] in line and "not retried" in line
    elif behaviour != "error-event-400":
        assert gateway_errors == []


@pytest.mark.item(14)
async def test_an_answer_every_tier_broke_off_is_stored_marked_incomplete_never_as_whole(
    widget, customer_session, hostile, settings, figures
):
    await database_sync_to_async(tiers_for_the_test)()
    settings.OPENAI_API_KEY = "sk-test"
    settings.OPENAI_BASE_URL = hostile.url
    cut = hostile_model("eof-half")
    settings.SUPPORTBOT_MODELS = {"instant": cut, "mini": cut, "thinking": cut, "pro": cut}

    await widget.send_json_to({"type": "message", "text": QUESTION, "client_id": "q"})
    frames = await frames_until(widget, is_answer, timeout=30)
    conversation, answer, ledger = await database_sync_to_async(_stored)(customer_session[0])
    streamed = "".join(frame["text"] for frame in frames if frame["type"] == "token")

    assert streamed and answer.text.startswith(streamed.rstrip())
    assert answer.text.endswith(INCOMPLETE_TEXT) and frames[-1]["outcome"] == "incomplete"
    assert answer.data["outcome"] == "incomplete"
    assert len(ledger) == len(hostile.requests) >= 2 and all(row.outcome != "ok" for row in ledger)
    assert answer.cost == conversation.total_cost == sum((row.cost for row in ledger), Decimal(0))
    figures.update(behaviour="eof-half on every tier", stored="partial + incomplete note", upstream_calls=len(ledger))
