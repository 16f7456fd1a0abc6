"""The customer-felt benchmark's report: verdicts against the relay, the ceiling's reading of a ramp."""

from __future__ import annotations

import argparse

from bench.customer import Answer
from bench.customer_report import ceiling_of, report
from bench.customer_results import PRODUCT, RELAY, Batch, CeilingStep, Cold, Phases, Setting

CHUNKS = 4


def _answer(*, first_token_ms: float) -> Answer:
    sent = 1_000_000_000
    answer = Answer(sent_ns=sent, acked_ns=sent + 1_000_000, typing_ns=sent + 2_000_000)
    first = sent + int(first_token_ms * 1e6)
    for index in range(CHUNKS):
        stamp = first - 500_000 + index * 20_000_000
        answer.token_add(f"{index}@{stamp} ", received_ns=stamp + 500_000)
    answer.stored_ns, answer.stored_text = first + 100_000_000, "".join(answer.texts)
    return answer


def _batch(first_token_ms: float, *, cpu_s: float) -> Batch:
    return Batch(answers=[_answer(first_token_ms=first_token_ms) for _ in range(10)], cpu_s=cpu_s)


def _args(**changes: object) -> argparse.Namespace:
    options = dict(chats=10, spread_s=1.28, rounds=1, chunks=CHUNKS, interval_ms=20.0, backends=["embedded"])
    options |= dict(note="", warm_asks=2, ceiling_seconds=3.0)
    return argparse.Namespace(**(options | changes))


def test_the_verdicts_compare_the_product_with_the_relay_of_the_same_run() -> None:
    setting = Setting(backend="embedded", server="uvicorn")
    setting.batches = {RELAY: [_batch(2.0, cpu_s=0.04)], PRODUCT: [_batch(20.0, cpu_s=0.10)]}
    setting.cold = {PRODUCT: Cold(first_token_ms=[60.0], typing_ms=[5.0], model_request_ms=[59.0])}
    setting.cold[PRODUCT].warm_first_token_ms = [20.0, 22.0]
    setting.phases = {PRODUCT: Phases([30_000_000], [63_000_000], [10_000_000], [25.0])}

    text = report(settings=[setting], ceilings={}, args=_args())

    assert "+18.0 ms (target ≤ +30 ms): **met**" in text
    assert "Supportbot 10.0 ms, relay 4.0 ms: 2.5× (target ≤ 3×): **met**" in text
    assert "2.9× (target ≤ 2×): **not met**" in text  # 60 ms cold against 21 ms warm
    assert "| embedded | uvicorn | Supportbot | 1 | 25.0 | 30.0 | 21000 | 10.0 | 103.0 |"  # 63 ms over 3 gaps in text


def test_a_ramp_ends_at_the_rate_that_failed_twice_and_a_single_miss_does_not_end_it() -> None:
    def step(rate: float, first_token_ms: float) -> CeilingStep:
        return CeilingStep(workers=1, rate=rate, label=PRODUCT, batch=_batch(first_token_ms, cpu_s=0.1))

    ramp = [step(5, 20), step(10, 150), step(10, 30), step(20, 150), step(20, 160), step(40, 20)]

    assert ceiling_of(ramp, CHUNKS) == 10
    assert ceiling_of(ramp[:1], CHUNKS) == 5
    assert ceiling_of([step(5, 150), step(5, 150)], CHUNKS) == 0
