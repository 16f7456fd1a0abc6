"""The gateway and the OpenAI-compatible provider against every hostile server behaviour.

Each case runs the real gateway, the real provider and the SDK against ``bench.hostile_server``
over HTTP, with the behaviour on Instant and a well-behaved Mini behind it, and checks the
outcome the case table (``tests/hardening/hostile_expectations.py``) promises: the text, the
notice, the answer's flags and one call record per upstream call. The same table is checked
through the widget's socket and the database in ``tests/hardening/test_hostile_provider.py``.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
from collections.abc import Iterator

import pytest

from bench.hostile_server import BEHAVIOURS, HostileServer, answer_text, hostile_model
from routing.breaker import MemoryBreaker
from routing.gateway import FAILOVER_NOTICE, TRUNCATED_NOTICE, Finished, Gateway, Notice
from routing.providers.base import ChatRequest, TextDelta
from routing.providers.openai_compat import OpenAICompatProvider
from routing.tiers import TierConfig, TierName, default_catalogue
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

QUESTION = ChatRequest(messages=[{"role": "user", "content": "Where is my order?"}], max_output_tokens=64)
NOTICES = {FAILOVER_NOTICE: FAILOVER, TRUNCATED_NOTICE: TRUNCATED}
# The first-token and idle deadline the stall outlasts, and a total deadline the trickle never reaches.
FIRST_TOKEN_S, STALL_S, TOTAL_S = 0.5, 1.2, 20.0


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer(stall_s=STALL_S, trickle_interval_s=0.005)
    server.serve_in_thread()
    yield server
    server.close()


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A port bound but not listening: every connection to it is refused while the test holds it."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{unused.getsockname()[1]}/v1"


def _catalogue(instant_model: str) -> dict[TierName, TierConfig]:
    models = {TierName.INSTANT: instant_model, TierName.MINI: "fine-mini"}
    models |= {TierName.THINKING: "fine-thinking", TierName.PRO: "fine-pro"}
    return {
        name: dataclasses.replace(
            config, first_token_timeout_s=FIRST_TOKEN_S, idle_timeout_s=FIRST_TOKEN_S, total_timeout_s=TOTAL_S
        )
        for name, config in default_catalogue(models).items()
    }


async def _no_wait(seconds: float) -> None:
    pass


async def _answer(gateway: Gateway) -> tuple[list[TextDelta | Notice], Finished]:
    events = [event async for event in gateway.stream(QUESTION, tier=TierName.INSTANT)]
    finished = events.pop()
    assert isinstance(finished, Finished) and not any(isinstance(event, Finished) for event in events)
    return events, finished  # type: ignore[return-value]


def _outcome(events: list[TextDelta | Notice], finished: Finished) -> Outcome:
    stored = stored_kind(finished.text)
    notices = [NOTICES[event.text] for event in events if isinstance(event, Notice)]
    assert len(notices) <= 1
    return Outcome(
        answered_by="" if stored == "apology" else str(finished.tier),
        stored=stored,
        notice=notices[0] if notices else "",
        ledger=tuple(
            ledger_row_text(outcome=call.outcome, usage_estimated=call.usage.estimated, error=call.error)
            for call in finished.calls
        ),
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("behaviour", [name for name in CASES if name != REFUSED])
async def test_each_hostile_behaviour_ends_as_the_case_table_says(hostile: HostileServer, behaviour: str) -> None:
    provider = OpenAICompatProvider(base_url=hostile.url, api_key="sk-test")
    catalogue = _catalogue(hostile_model(behaviour))
    gateway = Gateway(
        providers=lambda tier: provider, catalogue=lambda: catalogue, breaker=MemoryBreaker(), sleep=_no_wait
    )

    events, finished = await _answer(gateway)
    observed = _outcome(events, finished)

    assert observed == CASES[behaviour].expected
    assert FIRST_CALL_ERRORS.get(behaviour, "") in finished.calls[0].error
    assert (finished.calls[0].error == "") == (behaviour not in FIRST_CALL_ERRORS)
    # What streamed is what the answer holds; one call record per upstream call.
    assert "".join(event.text for event in events if isinstance(event, TextDelta)) == finished.text
    assert len(finished.calls) == len(hostile.requests)
    assert finished.fell_back == (observed.answered_by == "mini")
    assert finished.failed_over_mid_stream == (observed.notice == FAILOVER)
    assert finished.truncated == (observed.notice == TRUNCATED)
    assert bool(finished.error) == (observed.stored == "apology" or finished.truncated)
    if observed.stored == "partial + continuation":
        notice_at = next(index for index, event in enumerate(events) if isinstance(event, Notice))
        partial = "".join(event.text for event in events[:notice_at])  # type: ignore[union-attr]
        assert partial and "fine" not in partial and finished.text == partial + answer_text("fine-mini")
        # The backup was asked to continue exactly the text the customer had seen.
        assert hostile.requests[-1].body["messages"][-2] == {"role": "assistant", "content": partial}
    elif observed.stored == "complete":
        assert finished.text == answer_text(str(finished.model))


@pytest.mark.asyncio
async def test_connection_refused_moves_to_the_next_tier_at_once(hostile: HostileServer, refused_url: str) -> None:
    refused = OpenAICompatProvider(base_url=refused_url, api_key="sk-test")
    working = OpenAICompatProvider(base_url=hostile.url, api_key="sk-test")
    catalogue = _catalogue("fine-instant")
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    gateway = Gateway(
        providers=lambda tier: refused if tier.name == TierName.INSTANT else working,
        catalogue=lambda: catalogue,
        breaker=MemoryBreaker(),
        sleep=sleep,
    )

    events, finished = await _answer(gateway)

    assert _outcome(events, finished) == Outcome(
        answered_by="mini", stored="complete", notice="", ledger=("fallback (estimated)", "ok")
    )
    assert sleeps == [] and hostile.models_called() == ["fine-mini"]
    assert "connection failed" in finished.calls[0].error and finished.calls[0].cost == 0


@pytest.mark.asyncio
@pytest.mark.parametrize(("behaviour", "status"), [("http-401", 401), ("http-403", 403), ("http-404", 404)])
async def test_a_refusal_is_logged_once_as_an_error_naming_tier_and_model(
    hostile: HostileServer, behaviour: str, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    provider = OpenAICompatProvider(base_url=hostile.url, api_key="sk-test")
    catalogue = _catalogue(hostile_model(behaviour))
    gateway = Gateway(
        providers=lambda tier: provider, catalogue=lambda: catalogue, breaker=MemoryBreaker(), sleep=_no_wait
    )

    with caplog.at_level(logging.INFO, logger="routing.gateway"):
        await _answer(gateway)

    [record] = [record for record in caplog.records if record.name == "routing.gateway"]
    assert record.levelno == logging.ERROR
    line = record.getMessage()
    assert f"tier instant (model {hostile_model(behaviour)})" in line and str(status) in line
    assert "not retried" in line and "check" in line


def test_every_server_behaviour_has_one_expected_outcome() -> None:
    assert set(CASES) == set(BEHAVIOURS) | {REFUSED}
