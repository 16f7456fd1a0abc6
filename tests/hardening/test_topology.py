"""Faults in the production topology: two uvicorn web processes, a Celery worker with
beat, PostgreSQL and a private Redis, driven by a client written from docs/protocol.md.

Each test injects one fault by hand, as an operator would meet it: a web process killed
mid-stream, the worker killed mid-summary, Redis restarted mid-run, the model slowed to a chunk a
second and back. Each then checks what the customers saw and what is stored: no message lost or
doubled, every question answered, no "unavailable" reply while the model works, every summary
written within 90 s of the fault, the ledger against the model server's requests call id by call
id (every call received has its row; a row whose request never arrived is a call a killed process
had not sent yet, still "running"), and the open-socket gauge equal to the sockets the client
holds. The figures go into docs/reliability.md (``python -m tests.hardening.report --section topology``).

PostgreSQL only: the processes write concurrently, which SQLite serialises; the SQLite phase skips
this module and CI's PostgreSQL phase (SUPPORTBOT_REQUIRE_SERVICES=1) runs it.

The summary lease and re-send ages are shortened for the run (8 s, beat every 2 s) so it takes
seconds, not minutes; with the defaults (45 s, 60 s, every 10 s) the same recovery takes at most
about 55 s after a killed worker and 70 s after a lost message, plus the summary's own run.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI
from websockets.typing import Origin

from bench import stack
from bench.openai_server import OpenAICompatServer
from conversations.answering import UNAVAILABLE_TEXT
from conversations.models import Conversation, Message, Summary
from routing.models import LedgerEntry, Tier
from routing.providers.openai_compat import CALL_ID_HEADER
from routing.tiers import default_catalogue
from supportbot.embedded_redis import redis_start
from tests.conftest import ALLOWED_ORIGIN
from tests.hardening.conftest import database_url_shared

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.django_db(transaction=True), pytest.mark.item(22)]

SUMMARY_BOUND_S = 90.0  # the bound from the fault to every summary written
METRICS_TOKEN = "topology-metrics-token"
ANSWER_TEXT = "You can follow your parcel under Orders, then Track; it updates every hour."
CHUNKS, CHUNK_MS = 12, 60  # a normal answer streams for about 0.7 s: long enough to be cut mid-stream
SUMMARY_ENV = {
    "SUPPORTBOT_SUMMARY_DELAY_MS": "1500",  # each summary runs 1.5 s, so a kill or restart meets one running
    "SUPPORTBOT_SUMMARY_LEASE_S": "8",
    "SUPPORTBOT_SUMMARY_RESEND_AFTER_S": "8",
    "SUPPORTBOT_SUMMARY_RECOVER_EVERY_S": "2",
}
_questions = itertools.count(1)


@pytest.fixture(scope="module", autouse=True)
def _postgresql_only(django_db_setup, django_db_blocker) -> None:
    with django_db_blocker.unblock():
        vendor = connection.vendor
    if vendor != "postgresql":
        pytest.skip(
            "the production topology runs on PostgreSQL (concurrent writers from three processes); "
            "CI's PostgreSQL phase runs it"
        )


# --- the topology -----------------------------------------------------------------------------


@dataclass
class Topology:
    directory: Path
    redis_socket: Path
    model: OpenAICompatServer
    env: dict[str, str]
    ports: list[int]
    web: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    redis: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    worker_starts: int = 0
    # How many requests the model server had received when the running test began (each test starts
    # with an empty ledger).
    requests_mark: int = 0

    # Redis ------------------------------------------------------------------------------------
    def redis_up(self) -> None:
        self.redis = redis_start(self.redis_socket)

    def redis_down(self) -> None:
        assert self.redis is not None
        self.redis.kill()  # no persistence: what was queued is gone, as after a restart
        self.redis.wait(timeout=10)

    # web processes ------------------------------------------------------------------------------
    def web_start(self, port: int) -> None:
        log = (self.directory / f"web-{port}.log").open("ab")
        process = subprocess.Popen(
            stack.asgi_command(server="uvicorn", port=port),
            cwd=stack.ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        stack.asgi_server_ready(process, port=port, timeout_s=90)
        self.web[port] = process

    def web_kill(self, port: int) -> None:
        process = self.web.pop(port)
        process.kill()
        process.wait(timeout=10)

    def live_ports(self) -> list[int]:
        return [port for port, process in self.web.items() if process.poll() is None]

    def web_logs(self) -> str:
        return "".join(path.read_text(errors="replace") for path in self.directory.glob("web-*.log"))

    def logs(self) -> str:
        """What the web processes and the worker logged."""
        return "".join(path.read_text(errors="replace") for path in sorted(self.directory.glob("*.log")))

    # the worker, with beat --------------------------------------------------------------------------
    def worker_start(self) -> None:
        self.worker_starts += 1
        log = (self.directory / "worker.log").open("ab")
        command = [
            str(Path(sys.executable).parent / "celery"), "-A", "supportbot", "worker", "--beat",
            "--schedule", str(self.directory / f"beat-{self.worker_starts}"),
            "--pool=prefork", "--concurrency=1", "-Q", "celery,handoff,summary",
            "--without-gossip", "--without-mingle", "--loglevel=INFO",
        ]  # fmt: skip
        self.worker = subprocess.Popen(command, cwd=stack.ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def worker_kill(self) -> None:
        """SIGKILL the worker's main process and its pool (and the embedded beat) at once."""
        assert self.worker is not None
        children = _children(self.worker.pid)
        self.worker.kill()
        for child in children:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.worker.wait(timeout=10)

    def stop(self) -> None:
        for port in list(self.web):
            stack.process_stop(self.web.pop(port))
        if self.worker is not None:
            stack.process_stop(self.worker)
        if self.redis is not None and self.redis.poll() is None:
            self.redis.terminate()
            self.redis.wait(timeout=10)


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


@pytest.fixture(scope="module")
def topology(_postgresql_only, django_db_blocker) -> Iterator[Topology]:
    from django.conf import settings

    model = OpenAICompatServer(chunks=CHUNKS, interval_ms=CHUNK_MS, text=ANSWER_TEXT)
    model.serve_in_thread()
    with tempfile.TemporaryDirectory(prefix="topology-") as name:
        directory = Path(name)
        redis_socket = directory / "redis.sock"
        with django_db_blocker.unblock():
            database_url = database_url_shared()
        env = stack.product_env(
            data_dir=directory, redis_url=f"unix://{redis_socket}", model_url=model.url, database_url=database_url
        )
        ports = [stack.port_free(), stack.port_free()]
        env.update(
            {
                "SECRET_KEY": settings.SECRET_KEY,
                "SUPPORTBOT_METRICS_TOKEN": METRICS_TOKEN,
                "SUPPORTBOT_ALLOWED_ORIGINS": ALLOWED_ORIGIN,
                "SUPPORTBOT_BUSINESS_HOURS": "always",
                "SUPPORTBOT_MESSAGES_PER_MINUTE": "0",
                "PYTHONUNBUFFERED": "1",
                "PYTHONASYNCIODEBUG": "0",
                **SUMMARY_ENV,
            }
        )
        env["LOG_LEVEL"] = "WARNING"
        world = Topology(directory=directory, redis_socket=redis_socket, model=model, env=env, ports=ports)
        try:
            world.redis_up()
            for port in ports:
                world.web_start(port)
            world.worker_start()
            yield world
        finally:
            world.stop()
            model.close()


@pytest.fixture(autouse=True)
def _model_normal(request) -> Iterator[None]:
    if "topology" not in request.fixturenames:
        yield
        return
    topology: Topology = request.getfixturevalue("topology")
    topology.model.interval_ms = CHUNK_MS
    yield
    topology.model.interval_ms = CHUNK_MS


# --- a customer, written from docs/protocol.md ---------------------------------------------------


@dataclass
class Customer:
    token: str
    port: int
    socket: ClientConnection | None = None
    last_seq: int = 0
    received: list[int] = field(default_factory=list)  # the seq of every stored message received
    questions: dict[str, int] = field(default_factory=dict)  # client_id -> seq
    answers: dict[int, dict] = field(default_factory=dict)  # question seq -> answer frame
    reconnects: int = 0

    async def open(self, topology: Topology) -> None:
        """Connect (to another live process if this one is gone) and resume from ``last_seq``."""
        ports = topology.live_ports()
        if self.port not in ports:
            self.port = ports[0]
        for _ in range(60):
            try:
                self.socket = await connect(
                    f"ws://127.0.0.1:{self.port}/ws/widget/", origin=Origin(ALLOWED_ORIGIN), open_timeout=10
                )
                await self.socket.send(json.dumps({"type": "hello", "token": self.token, "last_seq": self.last_seq}))
                return
            except (OSError, ConnectionClosed, InvalidStatus, InvalidURI, TimeoutError):
                await asyncio.sleep(0.5)  # as the widget backs off; the process may be restarting
                ports = topology.live_ports()
                self.port = ports[(ports.index(self.port) + 1) % len(ports)] if self.port in ports else ports[0]
        raise AssertionError(f"could not reconnect to any web process ({topology.live_ports()})")

    async def close(self) -> None:
        socket, self.socket = self.socket, None
        if socket is not None:
            try:
                await asyncio.wait_for(socket.close(), timeout=5)
            except (ConnectionClosed, OSError, TimeoutError):
                pass

    async def ask(self, topology: Topology, text: str, *, deadline_s: float = 60.0) -> dict:
        """Send a question and wait for its stored answer, reconnecting and re-sending (same client_id) after a drop."""
        client_id = f"q{next(_questions)}"
        sent = False
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            try:
                if self.socket is None:
                    await self.open(topology)
                    self.reconnects += 1
                    sent = False
                assert self.socket is not None
                if not sent:
                    await self.socket.send(json.dumps({"type": "message", "text": text, "client_id": client_id}))
                    sent = True
                while True:
                    frame = json.loads(await asyncio.wait_for(self.socket.recv(), timeout=5))
                    self._take(frame)
                    seq = self.questions.get(client_id)
                    if seq is not None and seq in self.answers:
                        return self.answers[seq]
            except (ConnectionClosed, OSError, TimeoutError):
                await self.close()  # dropped, or silent for 5 s: reconnect and resume by seq
        raise AssertionError(f"no answer to {text!r} within {deadline_s} s")

    def _take(self, frame: dict) -> None:
        if frame.get("type") != "message":
            return
        if frame.get("client_id") in self.questions and frame["seq"] in self.received:
            return  # the server re-acknowledging a question sent again (protocol.md): not a second message
        self.received.append(frame["seq"])
        self.last_seq = max(self.last_seq, frame["seq"])
        if frame.get("client_id"):
            self.questions[frame["client_id"]] = frame["seq"]
        if frame["role"] == "assistant" and "reply_to" in frame:
            self.answers.setdefault(frame["reply_to"], frame)

    async def drain(self, *, quiet_s: float = 0.5) -> None:
        """Take every frame still on its way (a late duplicate would show here)."""
        if self.socket is None:
            return
        try:
            while True:
                self._take(json.loads(await asyncio.wait_for(self.socket.recv(), timeout=quiet_s)))
        except TimeoutError:
            return
        except ConnectionClosed:
            self.socket = None

    async def handoff(self) -> None:
        assert self.socket is not None
        await self.socket.send(json.dumps({"type": "handoff"}))


async def customers_open(topology: Topology, count: int) -> list[Customer]:
    ports = topology.live_ports()
    sessions = await asyncio.gather(
        *(asyncio.to_thread(stack.session_open, port=ports[index % len(ports)]) for index in range(count))
    )
    customers = [
        Customer(token=session["token"], port=ports[index % len(ports)]) for index, session in enumerate(sessions)
    ]
    for customer in customers:
        await customer.open(topology)
    return customers


async def customers_settle(topology: Topology, customers: list[Customer]) -> None:
    """Take what is still on its way, and reconnect (resuming by seq) every socket the fault closed,
    as the widget does; afterwards every customer holds exactly one open socket."""
    for customer in customers:
        await customer.drain()
    for customer in customers:
        if customer.socket is None:
            await customer.open(topology)
            customer.reconnects += 1
        await customer.drain()
    assert all(customer.socket is not None for customer in customers)


async def db(function: Any, /, *args: Any, **kwargs: Any) -> Any:
    """Run ORM code in a thread, closing that thread's connection after (the test database is dropped at the end)."""
    from django.db import connection as thread_connection

    def run() -> Any:
        try:
            return function(*args, **kwargs)
        finally:
            thread_connection.close()

    return await asyncio.to_thread(run)


# --- what the database and the processes say ------------------------------------------------------


def _questions_text() -> str:
    return f"Where is my parcel, order {next(_questions)}? It has not moved for days."


def conversation_checks(customers: list[Customer]) -> dict[str, int]:
    """Lost, doubled and unanswered messages, and "unavailable" replies, from the client's view and the database's."""
    from django.db import connection as db

    db.close()  # a fresh connection: the processes wrote meanwhile
    lost = doubled = unanswered = unavailable = 0
    for customer in customers:
        doubled += len(customer.received) - len(set(customer.received))
        conversation = _conversation_of(customer)
        stored = list(Message.objects.filter(conversation=conversation).order_by("seq"))
        lost += len({m.seq for m in stored} - set(customer.received))
        questions = [m for m in stored if m.role == "customer" and m.kind == "text"]
        replies: dict[int, int] = {}
        for message in stored:
            if message.role == "assistant" and message.reply_to_seq is not None:
                replies[message.reply_to_seq] = replies.get(message.reply_to_seq, 0) + 1
                unavailable += message.text == UNAVAILABLE_TEXT
        doubled += sum(count - 1 for count in replies.values())
        if conversation.status == Conversation.Status.BOT:
            unanswered += sum(1 for question in questions if replies.get(question.seq, 0) == 0)
    return {"lost": lost, "doubled": doubled, "unanswered": unanswered, "unavailable": unavailable}


def _conversation_of(customer: Customer) -> Conversation:
    from conversations.selectors import conversation_for_token

    return conversation_for_token(token=customer.token)


def ledger_rows() -> dict[str, dict[str, Any]]:
    """Every ledger row of an upstream call (answers from the cache made none), by call id."""
    rows = LedgerEntry.objects.exclude(outcome=LedgerEntry.Outcome.CACHE_HIT).order_by("pk")
    fields = ("call_id", "outcome", "purpose", "tier", "attempt", "conversation_id", "message_id", "created_at")
    return {row["call_id"]: row for row in rows.values(*fields)}


def ledger_totals_agree() -> bool:
    """Every conversation's totals are the sum of its ledger rows (the invariant the ledger keeps)."""
    from django.db.models import Sum

    for conversation in Conversation.objects.all():
        rows = LedgerEntry.objects.filter(conversation=conversation).aggregate(
            cost=Sum("cost"), tokens=Sum("input_tokens")
        )
        if (rows["cost"] or 0) != conversation.total_cost or (rows["tokens"] or 0) != conversation.total_input_tokens:
            return False
    return True


def upstream_calls(topology: Topology) -> dict[str, float]:
    """The call id of every chat completion the model server received in this test, and when (monotonic).

    The gateway sends each call's ledger id as a header; a request without one, or a second request
    under the same id (billed twice, one row), still counts, under a name no ledger row can have.
    """
    calls: dict[str, float] = {}
    for index, request in enumerate(topology.model.requests[topology.requests_mark :]):
        if request.path.rstrip("/") == "/v1/chat/completions":
            call_id = request.headers.get(CALL_ID_HEADER.lower()) or f"(request {index} without a call id)"
            if call_id in calls:
                call_id = f"{call_id} (sent again: request {index})"
            calls[call_id] = request.received_at
    return calls


@dataclass(frozen=True)
class LedgerCheck:
    """The ledger against the model server's request log, call id by call id.

    Every call the server received must have its row. A row whose request never arrived can only be a
    call its process was killed on after writing the row and before the request was out: still
    "running", and no more of them than calls the kill could have caught in flight.
    """

    calls: dict[str, float]
    rows: dict[str, dict[str, Any]]

    @property
    def calls_without_a_row(self) -> list[str]:
        return sorted(set(self.calls) - set(self.rows))

    @property
    def rows_never_received(self) -> list[str]:
        return sorted(set(self.rows) - set(self.calls))

    def assert_exact(self, *, interrupted_at_most: int, fault_at: float | None = None, logs: str = "") -> None:
        unsent = [self.rows[call_id] for call_id in self.rows_never_received]
        message = self.describe(fault_at=fault_at, logs=logs)
        assert not self.calls_without_a_row and len(unsent) <= interrupted_at_most, message
        assert all(row["outcome"] == LedgerEntry.Outcome.RUNNING for row in unsent), message

    def describe(self, *, fault_at: float | None, logs: str = "") -> str:
        def when(call_id: str) -> str:
            if call_id not in self.calls or fault_at is None:
                return ""
            return f", received {self.calls[call_id] - fault_at:+.3f} s from the fault"

        lines = [f"{len(self.calls)} upstream calls, {len(self.rows)} ledger rows"]
        lines += [f"call without a row: {call_id}{when(call_id)}" for call_id in self.calls_without_a_row]
        lines += [f"row never received: {self.rows[call_id]}" for call_id in self.rows_never_received]
        lines += [f"  row: {row}{when(call_id)}" for call_id, row in self.rows.items()]
        lines += [f"  logged: {line}" for line in logs.splitlines() if "in the ledger" in line][:10]
        return "\n".join(lines)


def metrics_sockets(port: int) -> dict[str, int]:
    """``supportbot_open_sockets`` per process, widget kind, from one process's /metrics."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    return {
        sample.labels["process"]: int(sample.value)
        for family in text_string_to_metric_families(text)
        if family.name == "supportbot_open_sockets"
        for sample in family.samples
        if sample.labels["kind"] == "widget"
    }


async def gauge_settles(topology: Topology, *, expected: int, timeout_s: float = 30.0) -> tuple[float, dict]:
    """Seconds until every live process's /metrics sums to ``expected`` open widget sockets, and the last view."""
    started = time.monotonic()
    views: dict[int, dict[str, int]] = {}
    while time.monotonic() - started < timeout_s:
        views = {port: await asyncio.to_thread(metrics_sockets, port) for port in topology.live_ports()}
        if all(sum(view.values()) == expected for view in views.values()):
            return round(time.monotonic() - started, 1), views
        await asyncio.sleep(1)
    raise AssertionError(f"open-socket gauge never reached {expected}: {views}")


def summaries_written_within(conversations: list[int], *, started: float, bound_s: float) -> float:
    """Seconds from ``started`` until every handoff summary of ``conversations`` is done (fails past the bound)."""
    from django.db import connection as db

    while True:
        db.close()
        states = list(
            Summary.objects.filter(conversation_id__in=conversations, purpose="handoff").values_list(
                "status", flat=True
            )
        )
        if len(states) == len(conversations) and all(state == "done" for state in states):
            return round(time.monotonic() - started, 1)
        if time.monotonic() - started > bound_s:
            raise AssertionError(f"summaries not done {bound_s} s after the fault: {states}")
        time.sleep(0.5)


def never_retrieved(topology: Topology) -> int:
    return topology.web_logs().count("exception was never retrieved")


def _never_retrieved_excerpt(topology: Topology) -> str:
    logs = topology.web_logs()
    at = logs.find("exception was never retrieved")
    return logs[max(at - 200, 0) : at + 2500]


def _figures_common(
    figures: dict[str, Any], checks: dict[str, int], *, ledger: LedgerCheck, gauge: tuple[float, dict], sockets: int
) -> None:
    figures.update(
        messages_lost=checks["lost"],
        messages_doubled=checks["doubled"],
        unanswered=checks["unanswered"],
        unavailable_replies=checks["unavailable"],
        upstream_calls=len(ledger.calls),
        ledger_rows=len(ledger.rows),
        calls_without_a_ledger_row=len(ledger.calls_without_a_row),
        ledger_rows_of_calls_never_received=len(ledger.rows_never_received),
        open_sockets=sockets,
        socket_gauge=sum(next(iter(gauge[1].values())).values()) if gauge[1] else 0,
        seconds_until_gauge_true=gauge[0],
    )


def _assert_all_right(
    figures: dict[str, Any],
    ledger: LedgerCheck,
    topology: Topology,
    *,
    interrupted_at_most: int = 0,
    fault_at: float | None = None,
) -> None:
    assert figures["messages_lost"] == 0
    assert figures["messages_doubled"] == 0
    assert figures["unanswered"] == 0
    ledger.assert_exact(interrupted_at_most=interrupted_at_most, fault_at=fault_at, logs=topology.logs())
    assert figures["socket_gauge"] == figures["open_sockets"]


# --- the faults -----------------------------------------------------------------------------------


async def test_a_web_process_killed_mid_stream(topology: Topology, figures) -> None:
    customers = await customers_open(topology, 6)
    killed = topology.ports[0]

    async def kill_when_streaming() -> float:
        await asyncio.sleep(CHUNKS * CHUNK_MS / 1000 / 2)  # half-way through the first answers
        topology.web_kill(killed)
        return time.monotonic()

    asked = [customer.ask(topology, _questions_text()) for customer in customers]
    results = await asyncio.gather(kill_when_streaming(), *asked)
    killed_at = results[0]
    recovered_s = round(time.monotonic() - killed_at, 1)
    # Everyone carries on (a second question each), then the process comes back.
    await asyncio.gather(*(customer.ask(topology, _questions_text()) for customer in customers))
    await asyncio.to_thread(topology.web_start, killed)
    await customers_settle(topology, customers)

    checks = await db(conversation_checks, customers)
    gauge = await gauge_settles(topology, expected=len(customers))
    ledger = LedgerCheck(calls=upstream_calls(topology), rows=await db(ledger_rows))
    _figures_common(figures, checks, ledger=ledger, gauge=gauge, sockets=len(customers))
    figures.update(
        customers_on_the_killed_process=sum(1 for customer in customers if customer.reconnects),
        seconds_to_recover=recovered_s,
        totals_equal_ledger=await db(ledger_totals_agree),
    )
    for customer in customers:
        await customer.close()
    # Each customer of the killed process had at most one call in flight.
    on_killed = figures["customers_on_the_killed_process"]
    _assert_all_right(figures, ledger, topology, interrupted_at_most=on_killed, fault_at=killed_at)
    assert on_killed >= 1 and figures["totals_equal_ledger"]


async def test_the_worker_killed_mid_summary(topology: Topology, figures) -> None:
    customers = await customers_open(topology, 4)
    for customer in customers:
        await customer.ask(topology, _questions_text())
        await customer.handoff()
    conversations = [(await db(_conversation_of, customer)).pk for customer in customers]

    def claimed() -> bool:
        return Summary.objects.filter(conversation_id__in=conversations, status="running").exists()

    deadline = time.monotonic() + 30
    while not await db(claimed):
        assert time.monotonic() < deadline, "no summary was taken by the worker"
        await asyncio.sleep(0.2)
    topology.worker_kill()
    killed_at = time.monotonic()
    topology.worker_start()  # a supervisor restarts it; the killed message waits for the visibility timeout

    written_s = await db(summaries_written_within, conversations, started=killed_at, bound_s=SUMMARY_BOUND_S)
    await customers_settle(topology, customers)
    checks = await db(conversation_checks, customers)
    gauge = await gauge_settles(topology, expected=len(customers))
    ledger = LedgerCheck(calls=upstream_calls(topology), rows=await db(ledger_rows))
    summary_calls = await db(
        lambda: LedgerEntry.objects.filter(purpose="summary", conversation_id__in=conversations).count()
    )
    _figures_common(figures, checks, ledger=ledger, gauge=gauge, sockets=len(customers))
    figures.update(
        summaries=len(conversations),
        seconds_from_kill_to_every_summary=written_s,
        summary_ledger_rows=summary_calls,
    )
    for customer in customers:
        await customer.close()
    # One worker process, one summary at a time: the kill caught at most one call in flight.
    _assert_all_right(figures, ledger, topology, interrupted_at_most=1, fault_at=killed_at)
    assert written_s <= SUMMARY_BOUND_S


@pytest.fixture(autouse=True)
def _requests_mark(request) -> None:
    if "topology" in request.fixturenames:
        topology: Topology = request.getfixturevalue("topology")
        topology.requests_mark = len(topology.model.requests)


async def test_redis_restarted_mid_run(topology: Topology, figures) -> None:
    customers = await customers_open(topology, 6)
    handing_off = customers[:3]
    for customer in handing_off:
        await customer.ask(topology, _questions_text())
    conversations = [(await db(_conversation_of, customer)).pk for customer in handing_off]
    for customer in handing_off:
        await customer.handoff()  # three summaries queued behind a 1.5 s one: the restart loses some
    streaming = [customer.ask(topology, _questions_text()) for customer in customers[3:]]

    async def restart() -> float:
        await asyncio.sleep(0.4)
        topology.redis_down()
        restarted_at = time.monotonic()
        await asyncio.sleep(1.0)
        await asyncio.to_thread(topology.redis_up)
        return restarted_at

    results = await asyncio.gather(restart(), *streaming)
    restarted_at = results[0]
    recovered_s = round(time.monotonic() - restarted_at, 1)
    await asyncio.gather(*(customer.ask(topology, _questions_text()) for customer in customers[3:]))

    written_s = await db(summaries_written_within, conversations, started=restarted_at, bound_s=SUMMARY_BOUND_S)
    await customers_settle(topology, customers)
    checks = await db(conversation_checks, customers)
    open_now = len(customers)
    gauge = await gauge_settles(topology, expected=open_now)
    every_process_listed = all(len(view) == len(topology.live_ports()) for view in gauge[1].values())
    ledger = LedgerCheck(calls=upstream_calls(topology), rows=await db(ledger_rows))
    _figures_common(figures, checks, ledger=ledger, gauge=gauge, sockets=open_now)
    figures.update(
        seconds_to_recover=recovered_s,
        summaries=len(conversations),
        seconds_from_restart_to_every_summary=written_s,
        every_process_in_each_metrics=every_process_listed,
        task_exceptions_never_retrieved=never_retrieved(topology),
        totals_equal_ledger=await db(ledger_totals_agree),
    )
    for customer in customers:
        await customer.close()
    _assert_all_right(figures, ledger, topology)
    assert every_process_listed
    assert figures["task_exceptions_never_retrieved"] == 0, _never_retrieved_excerpt(topology)
    assert figures["totals_equal_ledger"] and written_s <= SUMMARY_BOUND_S


def _tiers_with_a_short_total_limit(total_s: float) -> None:
    """Every tier with a total limit shorter than a slow answer: under the old rule it cut them all."""
    for name, config in default_catalogue().items():
        Tier.objects.update_or_create(
            name=str(name),
            defaults=dict(
                context_window=config.context_window,
                price_input_per_1k=config.price_input_per_1k,
                price_cached_input_per_1k=config.price_cached_input_per_1k,
                price_output_per_1k=config.price_output_per_1k,
                latency_target_ms=config.latency_target_ms,
                first_token_timeout_s=config.first_token_timeout_s,
                idle_timeout_s=config.idle_timeout_s,
                total_timeout_s=total_s,
                fallbacks=",".join(config.fallbacks),
            ),
        )


async def test_the_model_slowed_to_a_chunk_a_second_and_back(topology: Topology, figures) -> None:
    await db(_tiers_with_a_short_total_limit, 3.0)
    customers = await customers_open(topology, 8)
    topology.model.interval_ms = 1000  # a chunk a second: each answer takes 11 s against a 3 s total limit
    slow_started = time.monotonic()
    slow = await asyncio.gather(*(customer.ask(topology, _questions_text(), deadline_s=90) for customer in customers))
    slow_s = round(time.monotonic() - slow_started, 1)
    topology.model.interval_ms = CHUNK_MS
    normal = await asyncio.gather(*(customer.ask(topology, _questions_text()) for customer in customers[:4]))
    await customers_settle(topology, customers)

    checks = await db(conversation_checks, customers)
    gauge = await gauge_settles(topology, expected=len(customers))
    ledger = LedgerCheck(calls=upstream_calls(topology), rows=await db(ledger_rows))
    _figures_common(figures, checks, ledger=ledger, gauge=gauge, sockets=len(customers))
    figures.update(
        questions_while_slow=len(slow),
        complete_while_slow=sum(1 for answer in slow if answer["text"] == ANSWER_TEXT and not answer.get("fell_back")),
        seconds_for_the_slow_answers=slow_s,
        questions_after=len(normal),
        complete_after=sum(1 for answer in normal if answer["text"] == ANSWER_TEXT),
    )
    for customer in customers:
        await customer.close()
    _assert_all_right(figures, ledger, topology)
    assert figures["unavailable_replies"] == 0
    assert figures["complete_while_slow"] == len(slow) and figures["complete_after"] == len(normal)
