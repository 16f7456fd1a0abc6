"""The tables ``bench.bench_customer`` prints and writes into docs/benchmarks.md."""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence

from bench import spy
from bench.customer import percentile
from bench.customer_results import (
    BACKENDS,
    CEILING_FIRST_TOKEN_P99_MS,
    COLD_TIMES_WARM,
    CPU_PER_ANSWER_TIMES_RELAY,
    FIRST_TOKEN_ABOVE_RELAY_MS,
    GAP_STRETCH_P99_MS,
    PRODUCT,
    RELAY,
    Batch,
    CeilingStep,
    Setting,
)

MEASURES = [
    ("acked", "sent → message acknowledged"),
    ("typing", "sent → typing"),
    ("first_token_ms", "sent → first token"),
    ("stored", "sent → stored answer"),
    ("model_request_ms", "sent → model request"),
    ("model_to_widget_ms", "model → widget, first token"),
]

# Where the product's CPU goes, by the product function a sampled stack passes through: the
# first line that names a function on the stack takes the sample (``^name``: only as the
# innermost frame). Mechanisms that cut across the phases come first. The names are those of
# the code when this was written; a function renamed or moved falls to the last line (the
# inclusive list below needs no names).
PRODUCT_PHASES: list[tuple[str, tuple[str, ...]]] = [
    (
        "any phase: database connection opened and closed around each ORM call",
        ("get_new_connection", "DatabaseWrapper.close", "close_old_connections", "aclose_old_connections"),
    ),
    ("before the model request: store the customer's message (ORM thread)", ("_customer_message_take",)),
    ("before the model request: claim, history, route, retrieve, plan (ORM thread)", ("turn_plan_make",)),
    ("before the model request: claim, lease, handoff and refusal (ORM thread)", ("_turn_claim",)),
    ("any phase: a call's ledger row, written as it is sent and as it ends (ORM thread)", ("ledger_call_note",)),
    (
        "before the model request: build and send it (gateway, SDK, HTTP client)",
        ("_completion_response_open", "_first_content_chunk", "Gateway._call_open"),
    ),
    ("per token: read and parse the model's stream", ("_completion_chunks", "_chunk_decode", "SSEDataReader.feed")),
    ("per token: write token frames to the sockets", ("_publish",)),
    ("per token: the answer loop (gateway and provider generators)", ("Gateway.stream", "_answer_one")),
    ("after the last token: save, ledger, cache, hooks (ORM thread)", ("_answer_finish", "_cached_answer_save")),
    ("after the last token: lease released, model call closed", ("_answer_run",)),
    ("channel layer: customer echo and stored answer to the socket", ("conversation_event", "group_send")),
    ("channel layer: Redis receive loop and commands", ("RedisChannelLayer.receive", "_brpop_with_clean")),
    (
        "ORM thread hand-offs (sync_to_async, thread pool)",
        ("SyncToAsync.__call__", "^_worker", "ThreadSensitiveContext.__aexit__", "_adjust_thread_count"),
    ),
    ("websocket frames in and out (ASGI server)", ("WebSocketsSansIOProtocol.send", "data_received")),
    ("event loop in C (uvloop: socket reads and writes, callbacks)", ("^run", "^Runner.run")),
]
OTHER = "everything else"


def cell(values: Sequence[float]) -> str:
    if not values:
        return "—"
    return f"{percentile(values, 50):.1f} / {percentile(values, 99):.1f}"


def main_table(settings: list[Setting], chunks: int) -> list[str]:
    head = "| backend | server | path | answers | " + " | ".join(f"{title} p50 / p99 ms" for _, title in MEASURES)
    head += " | gap stretch p50 / p99 ms | lost | doubled | stored ≠ streamed | failed "
    head += "| server CPU ms / answer | server CPU µs / token |"
    lines = [head, "|---|---|---|---:|" + "---:|" * (len(MEASURES) + 7)]
    for setting in settings:
        for label in (RELAY, PRODUCT):
            batch = setting.pooled(label)
            cells = [cell(batch.values(name)) for name, _ in MEASURES]
            lines.append(
                f"| {setting.backend} | {setting.server} | {label} | {len(batch.answers)} | {' | '.join(cells)} "
                f"| {cell(batch.gap_stretches_ms)} | {batch.lost(chunks)} | {batch.doubled} | {batch.mismatched} "
                f"| {batch.failed} | {batch.cpu_ms_per_answer:.1f} | {batch.cpu_ms_per_answer * 1000 / chunks:.0f} |"
            )
    return lines


def verdicts(setting: Setting, chunks: int) -> list[str]:
    relay, product = setting.pooled(RELAY), setting.pooled(PRODUCT)
    relay_first = percentile(relay.values("first_token_ms"), 99)
    product_first = percentile(product.values("first_token_ms"), 99)
    above = product_first - relay_first
    times = product.cpu_ms_per_answer / relay.cpu_ms_per_answer
    gaps = percentile(product.gap_stretches_ms, 99)
    exact = not product.lost(chunks) and not product.doubled
    lines = [
        f"- first token p99: Supportbot {product_first:.1f} ms, relay {relay_first:.1f} ms: {above:+.1f} ms "
        f"(target ≤ +{FIRST_TOKEN_ABOVE_RELAY_MS:g} ms): **{met(above <= FIRST_TOKEN_ABOVE_RELAY_MS)}**",
        f"- server CPU per answer: Supportbot {product.cpu_ms_per_answer:.1f} ms, relay "
        f"{relay.cpu_ms_per_answer:.1f} ms: {times:.1f}× (target ≤ {CPU_PER_ANSWER_TIMES_RELAY:g}×): "
        f"**{met(times <= CPU_PER_ANSWER_TIMES_RELAY)}**",
        f"- gap stretch p99 {gaps:.1f} ms (target ≤ {GAP_STRETCH_P99_MS:g} ms), tokens lost "
        f"{product.lost(chunks)}, doubled {product.doubled}: **{met(gaps <= GAP_STRETCH_P99_MS and exact)}**",
    ]
    cold = setting.cold.get(PRODUCT)
    if cold and cold.first_token_ms and cold.warm_first_token_ms:
        first, warm = statistics.median(cold.first_token_ms), statistics.median(cold.warm_first_token_ms)
        lines.append(
            f"- first answer after a restart: first token {first:.0f} ms (median of {len(cold.first_token_ms)} "
            f"restarts), warm {warm:.0f} ms: {first / warm:.1f}× (target ≤ {COLD_TIMES_WARM:g}×): "
            f"**{met(first <= COLD_TIMES_WARM * warm)}**"
        )
    return lines


def met(ok: bool) -> str:
    return "met" if ok else "not met"


def noise(setting: Setting) -> str:
    parts = []
    for label in (RELAY, PRODUCT):
        batches = setting.batches[label]
        p99s = [percentile(b.values("first_token_ms"), 99) for b in batches]
        cpus = [b.cpu_ms_per_answer for b in batches]
        parts.append(
            f"{label} first token p99 {min(p99s):.1f}–{max(p99s):.1f} ms, CPU {min(cpus):.1f}–{max(cpus):.1f} ms/answer"
        )
    return (
        f"- noise, {setting.backend} on {setting.server}: one round's figures ranged {'; '.join(parts)} "
        f"over {len(setting.batches[RELAY])} rounds each; load average {setting.load_before} before the rounds, "
        f"{setting.load_after} after."
    )


def phases_table(settings: list[Setting], chunks: int) -> list[str]:
    lines = [
        "| backend | server | path | answers | sent → first token p50 ms (alone) | CPU before the first token ms "
        "| CPU per streamed token µs | CPU after the last token ms | CPU per answer ms |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for setting in settings:
        for label, phases in setting.phases.items():
            if not phases.streaming:
                continue
            before = statistics.median(phases.before_first_token) / 1e6
            per_token = statistics.median(phases.streaming) / (chunks - 1) / 1e3
            after = statistics.median(phases.after_last_token) / 1e6
            total = statistics.median(
                sum(parts)
                for parts in zip(phases.before_first_token, phases.streaming, phases.after_last_token, strict=True)
            )
            lines.append(
                f"| {setting.backend} | {setting.server} | {label} | {len(phases.streaming)} "
                f"| {statistics.median(phases.first_token_ms):.1f} | {before:.1f} | {per_token:.0f} | {after:.1f} "
                f"| {total / 1e6:.1f} |"
            )
    return lines


def cold_table(settings: list[Setting]) -> list[str]:
    lines = [
        "| backend | server | path | restarts | first answer after a restart: sent → typing ms "
        "| → model request ms | → first token ms | warm answers | warm sent → first token p50 ms | cold / warm "
        "| failed |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for setting in settings:
        for label, cold in setting.cold.items():
            if not cold.first_token_ms or not cold.warm_first_token_ms:
                lines.append(
                    f"| {setting.backend} | {setting.server} | {label} | — | — | — | — | — | — | {cold.errors} |"
                )
                continue
            first, warm = statistics.median(cold.first_token_ms), statistics.median(cold.warm_first_token_ms)
            lines.append(
                f"| {setting.backend} | {setting.server} | {label} | {len(cold.first_token_ms)} "
                f"| {statistics.median(cold.typing_ms):.0f} | {statistics.median(cold.model_request_ms):.0f} "
                f"| {first:.0f} ({min(cold.first_token_ms):.0f}–"
                f"{max(cold.first_token_ms):.0f}) | {len(cold.warm_first_token_ms)} | {warm:.1f} "
                f"| {first / warm:.1f}× | {len(cold.errors)} |"
            )
    return lines


def cold_profile_lines(settings: list[Setting]) -> list[str]:
    """Where a first answer after a restart spends its time: product functions, in ms per first answer."""
    lines = []
    for setting in settings:
        cold = setting.cold.get(PRODUCT)
        if not cold or not cold.profiles:
            continue
        samples = spy.Samples.read(cold.profiles)
        per_answer = 1000 / spy.RATE / len(cold.profiles)
        lines += [
            "",
            f"| {setting.backend} on {setting.server}, first answer after a restart: product functions on the stack "
            "| ms of busy threads per first answer |",
            "|---|---:|",
        ]
        lines += [f"| {label} | {count * per_answer:.0f} |" for label, count in samples.inclusive_product(16)]
    return lines


def ceiling_lines(backend: str, steps: list[CeilingStep], chunks: int, seconds: float) -> list[str]:
    lines = [
        f"#### Ceiling on {backend}",
        "",
        "| uvicorn workers | asks per second | path | answers | sent → first token p50 / p99 ms "
        "| gap stretch p99 ms | lost | doubled | failed | server CPU ms / answer | busiest worker's share of CPU "
        "| load average | passes |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for step in steps:
        batch: Batch = step.batch
        lines.append(
            f"| {step.workers} | {step.rate:g} | {step.label} | {len(batch.answers)} "
            f"| {cell(batch.values('first_token_ms'))} | {percentile(batch.gap_stretches_ms, 99):.1f} "
            f"| {batch.lost(chunks)} | {batch.doubled} | {batch.failed} | {batch.cpu_ms_per_answer:.1f} "
            f"| {share_text(batch.busiest_worker_share)} | {step.load} | {'yes' if step.passes(chunks) else 'no'} |"
        )
    lines.append("")
    for label in (RELAY, PRODUCT):
        found = []
        for workers in sorted({step.workers for step in steps}):
            ramp = [s for s in steps if s.workers == workers and s.label == label]
            sustained = ceiling_of(ramp, chunks)
            best = f"{sustained:g}" if sustained < ramp[-1].rate or not ramp[-1].passes(chunks) else f"≥ {sustained:g}"
            found.append((workers, sustained, f"{best} asks/s with {workers} worker{'s' * (workers > 1)}"))
        scaling = ""
        if len(found) > 1 and found[0][1]:
            scaling = f" (× {found[-1][1] / found[0][1]:.1f} from {found[0][0]} to {found[-1][0]} workers)"
        lines.append(f"- **{label}** sustains {', '.join(text for _, _, text in found)}{scaling}.")
    lines.append(
        f"- A step passes when sent → first token p99 ≤ {CEILING_FIRST_TOKEN_P99_MS:g} ms with no token lost or "
        f"doubled and no answer failed; each step asks for {seconds:g} s (at least 100 asks), in fresh conversations "
        "whose sockets were open before it. A failing step is run once more; the ramp of a path stops when it "
        "fails twice in a row, and its ceiling is the highest rate passed before that (≥: it never failed)."
    )
    return lines


def share_text(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f} %"


def ceiling_of(ramp: list[CeilingStep], chunks: int) -> float:
    """The highest rate passed before the step that failed twice in a row (0 when none passed)."""
    sustained, failed_before = 0.0, False
    for step in ramp:
        if step.passes(chunks):
            sustained, failed_before = step.rate, False
        elif failed_before:
            break
        else:
            failed_before = True
    return sustained


def threads_table(label: str, samples: spy.Samples, batch: Batch) -> list[str]:
    """CPU per thread (schedstat) over the profiled spans, named by py-spy, with what each thread ran."""
    names = samples.thread_names()
    busy = sorted(batch.thread_cpu_ns.items(), key=lambda item: -item[1])
    total = sum(ns for _, ns in busy) or 1
    lines = [
        f"| {label}: thread | CPU ms per answer | share of the process's CPU | its most sampled product functions |",
        "|---|---:|---:|---|",
    ]
    for tid, ns in busy[:6]:
        if ns * 100 / total < 1:
            break
        name = names.get(tid, "native thread (no Python frames sampled)")
        lines.append(
            f"| {name} | {ns / 1e6 / len(batch.answers):.1f} | {ns * 100 / total:.1f} % "
            f"| {samples.top_product_function(tid) if tid in names else '—'} |"
        )
    return lines


def profile_lines(setting: Setting) -> list[str]:
    lines = [f"#### Profile: {setting.backend} on {setting.server}", ""]
    samples = {label: spy.Samples.read(paths) for label, paths in setting.profiles.items()}
    answers = {label: len(setting.pooled(label).answers) for label in samples}
    for label, found in samples.items():
        per_answer, cpu = found.seconds() * 1000 / answers[label], setting.pooled(label).cpu_ms_per_answer
        lines.append(
            f"- {label}: {found.total} samples at {spy.RATE}/s over {answers[label]} answers: "
            f"{per_answer:.1f} ms of busy threads per answer (/proc: {cpu:.1f} ms of CPU)."
        )
    for label, found in samples.items():
        lines += ["", *threads_table(label, found, setting.pooled(label))]
    product = samples.get(PRODUCT)
    if product is None or not product.total:
        return lines
    batch = setting.pooled(PRODUCT)
    split = product.phase_cpu_ns(PRODUCT_PHASES, other=OTHER, thread_cpu_ns=batch.thread_cpu_ns)
    measured = sum(ns for _, ns in split) or 1.0
    lines += [
        "",
        "| Supportbot: where the CPU goes (each thread's CPU split by its samples) | share of CPU | ms per answer |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {ns / measured * 100:.1f} % | {ns / 1e6 / len(batch.answers):.1f} |" for name, ns in split]
    lines += [
        "",
        "| Supportbot: product functions on the stack (inclusive, weighted the same way) | share of CPU "
        "| ms per answer |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {label} | {ns / measured * 100:.1f} % | {ns / 1e6 / len(batch.answers):.1f} |"
        for label, ns in product.inclusive_product(25, thread_cpu_ns=batch.thread_cpu_ns)
    ]
    for label, found in samples.items():
        lines += ["", f"| {label}: innermost frame by file (self time) | share of samples |", "|---|---:|"]
        lines += [f"| {where} | {count / found.total * 100:.1f} % |" for where, count in found.self_by_module(12)]
    return lines


def report(*, settings: list[Setting], ceilings: dict[str, list[CeilingStep]], args: argparse.Namespace) -> str:
    rounds = (
        f"Each round: {args.chats} widgets, sockets open and hello done, ask one question each, the sends spread "
        f"over {args.spread_s:g} s. {args.rounds} rounds per path, relay-first and product-first in turn, pooled. "
    )
    lines = [
        (rounds if args.rounds else "")
        + f"The model server streams {args.chunks} chunks {args.interval_ms:g} ms apart and sends its first chunk "
        "as soon as the request arrives. Backends: "
        + "; ".join(f"{name}: {BACKENDS[name]}" for name in args.backends)
        + ". The load generator, the model server, Redis, the database and both web processes share the "
        "machine's cores. Server CPU: user + system time of the web process and its children (/proc), from the "
        "first send until the server is quiet again, per answer; per token is that divided by the chunks.",
    ]
    if args.note:
        lines += ["", f"**{args.note}**", ""]
    if settings:
        lines += [*main_table(settings, args.chunks), ""]
        for setting in settings:
            lines += [
                f"{setting.backend} on {setting.server}:",
                "",
                *verdicts(setting, args.chunks),
                noise(setting),
                "",
            ]
    if any(setting.phases for setting in settings):
        lines += [
            "#### Server CPU per phase, answers asked one at a time",
            "",
            "Read from /proc (schedstat, every thread of the web process) at the send, the first and the last token "
            "frame received, and when the server went quiet after the stored answer; medians.",
            "",
            *phases_table(settings, args.chunks),
            "",
        ]
    if any(setting.cold for setting in settings):
        lines += [
            "#### The first answer after a restart",
            "",
            "The web process is stopped and started again (ready when `/readyz` passes, as a load balancer sees it: "
            "Django loaded, dependencies answering, warm-up finished); then a new visitor opens a "
            f"session and asks; then {args.warm_asks} more visitors ask one after another (the warm answers).",
            "",
            *cold_table(settings),
            *cold_profile_lines(settings),
            "",
        ]
    for backend, steps in ceilings.items():
        lines += [*ceiling_lines(backend, steps, args.chunks, args.ceiling_seconds), ""]
    for setting in settings:
        if setting.profiles:
            lines += [*profile_lines(setting), ""]
    return "\n".join(lines).rstrip()
