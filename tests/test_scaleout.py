"""Two web processes on two ports, sharing Redis and the database, behave as one product.

Each process is a real daphne started as the Procfile starts it; sockets are real websockets.
The database is this test's database (PostgreSQL when DATABASE_URL is set, else the SQLite file),
so the processes see exactly the rows the test sees.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from bench import stack
from bench.openai_server import OpenAICompatServer
from tests.conftest import ALLOWED_ORIGIN

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def database_url_shared() -> str:
    """The test database as a DATABASE_URL another process can open."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        # The same busy timeout and write mode as the product's own SQLite settings.
        options = urllib.parse.urlencode({"timeout": 20, "transaction_mode": "IMMEDIATE"})
        return f"sqlite:///{Path(db['NAME']).resolve()}?{options}"
    credentials = urllib.parse.quote(db["USER"] or "") + (
        ":" + urllib.parse.quote(db["PASSWORD"]) if db["PASSWORD"] else ""
    )
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@dataclass(frozen=True)
class WebProcesses:
    a: int
    b: int


@pytest.fixture(scope="module")
def model_server() -> Iterator[OpenAICompatServer]:
    server = OpenAICompatServer(chunks=8, interval_ms=1, text="You can change it under Orders, then Address.")
    server.serve_in_thread()
    yield server
    server.close()


@pytest.fixture(scope="module")
def two_web_processes(django_db_setup, redis_url, model_server, tmp_path_factory) -> Iterator[WebProcesses]:
    """Started once for the module: a web process costs seconds of CPU to import Django and the SDK."""
    from django.conf import settings

    env = stack.product_env(
        data_dir=tmp_path_factory.mktemp("web"),
        redis_url=redis_url,
        model_url=model_server.url,
        database_url=database_url_shared(),
    )
    env["SECRET_KEY"] = settings.SECRET_KEY  # visitor tokens and sessions signed here open there
    ports = WebProcesses(a=stack.port_free(), b=stack.port_free())
    # The agent console is same-origin only; each process is its own origin here (behind a proxy they share one).
    env["SUPPORTBOT_ALLOWED_ORIGINS"] = ",".join(
        [ALLOWED_ORIGIN, *(f"http://127.0.0.1:{port}" for port in (ports.a, ports.b))]
    )
    processes = [stack.asgi_server_spawn(server="daphne", port=port, env=env) for port in (ports.a, ports.b)]
    try:
        for process, port in zip(processes, (ports.a, ports.b), strict=True):
            stack.asgi_server_ready(process, port=port)
        yield ports
    finally:
        for process in processes:
            stack.process_stop(process)


async def widget_open(port: int, *, token: str, last_seq: int = 0) -> tuple[ClientConnection, dict]:
    socket = await connect(f"ws://127.0.0.1:{port}/ws/widget/", origin=Origin(ALLOWED_ORIGIN), open_timeout=10)
    await socket.send(json.dumps({"type": "hello", "token": token, "last_seq": last_seq}))
    ready = await frame_next(socket)
    assert ready["type"] == "ready"
    return socket, ready


async def frame_next(socket: ClientConnection, *, timeout: float = 10.0) -> dict:
    return json.loads(await asyncio.wait_for(socket.recv(), timeout))


async def frames_until(
    socket: ClientConnection, predicate: Callable[[dict], bool], *, timeout: float = 10.0
) -> list[dict]:
    received = []
    while True:
        received.append(await frame_next(socket, timeout=timeout))
        if predicate(received[-1]):
            return received


def stored(frame: dict) -> bool:
    return frame["type"] == "message"


def session_for(port: int) -> dict:
    return stack.session_open(port=port)


async def test_a_customer_on_one_process_sees_live_what_happens_on_the_other_and_resumes_there(two_web_processes):
    ports = two_web_processes
    session = await asyncio.to_thread(session_for, ports.a)
    on_a, _ = await widget_open(ports.a, token=session["token"])
    also_on_b, _ = await widget_open(ports.b, token=session["token"])  # the same visitor in a second tab

    await on_a.send(json.dumps({"type": "message", "text": "How do I change my delivery address?", "client_id": "c1"}))
    seen_on_a = await frames_until(on_a, lambda f: stored(f) and f["role"] == "assistant")
    tokens = "".join(f["text"] for f in seen_on_a if f["type"] == "token")
    answer = seen_on_a[-1]
    assert tokens and answer["text"] == tokens  # streamed on A, stored once
    # B's socket gets the stored question and answer through Redis, live.
    seen_on_b = await frames_until(also_on_b, lambda f: stored(f) and f["role"] == "assistant")
    assert [(f["seq"], f["role"]) for f in seen_on_b if stored(f)] == [(1, "customer"), (answer["seq"], "assistant")]

    # A written on B reaches A live.
    await also_on_b.send(json.dumps({"type": "message", "text": "Also, is the trial 100 nights?", "client_id": "c2"}))
    from_b = await frames_until(on_a, lambda f: stored(f) and f.get("client_id") == "c2")
    assert from_b[-1]["seq"] == answer["seq"] + 1
    second_answer = await frames_until(also_on_b, lambda f: stored(f) and f["role"] == "assistant")

    # A drops mid-conversation (say a deploy restarted it); the widget reconnects to B and resumes by seq.
    await on_a.close()
    resumed, ready = await widget_open(ports.b, token=session["token"], last_seq=from_b[-1]["seq"])
    assert ready["last_seq"] == second_answer[-1]["seq"]
    replay = [await frame_next(resumed) for _ in range(ready["last_seq"] - from_b[-1]["seq"])]
    assert [f["seq"] for f in replay] == list(range(from_b[-1]["seq"] + 1, ready["last_seq"] + 1))
    assert replay[-1]["text"] == second_answer[-1]["text"]
    with pytest.raises(asyncio.TimeoutError):  # nothing doubled after the replay
        await frame_next(resumed, timeout=0.5)
    await resumed.close()
    await also_on_b.close()


@pytest.fixture
def agent_session_cookie(agent) -> str:
    """The agent signed in, as the console's login page would leave them (logged in on this thread,
    so no database connection is left open in a worker thread when the test database is dropped)."""
    from django.test import Client

    client = Client()
    client.force_login(agent)
    return client.cookies["sessionid"].value


async def test_a_customer_on_one_process_and_an_agent_on_the_other_talk_live(two_web_processes, agent_session_cookie):
    pytest.importorskip("conversations.console.consumers")
    ports = two_web_processes
    session = await asyncio.to_thread(session_for, ports.a)
    customer, _ = await widget_open(ports.a, token=session["token"])
    await customer.send(json.dumps({"type": "handoff"}))
    await frames_until(customer, lambda f: stored(f) and f.get("data", {}).get("event") == "handoff_requested")

    console = await connect(
        f"ws://127.0.0.1:{ports.b}/ws/console/",
        origin=Origin(f"http://127.0.0.1:{ports.b}"),
        additional_headers={"Cookie": f"sessionid={agent_session_cookie}"},
        open_timeout=10,
    )
    public_id = session["conversation_id"]
    await console.send(json.dumps({"type": "open", "conversation": public_id, "last_seq": 0}))
    transcript = (await frames_until(console, lambda f: f["type"] == "transcript"))[-1]
    await console.send(json.dumps({"type": "claim", "conversation": public_id}))
    joined = await frames_until(customer, lambda f: stored(f) and f.get("data", {}).get("event") == "agent_joined")
    assert joined[-1]["seq"] == transcript["messages"][-1]["seq"] + 1

    await console.send(
        json.dumps({"type": "reply", "conversation": public_id, "text": "Hi, Sam here.", "client_id": "a1"})
    )
    reply = await frames_until(customer, lambda f: stored(f) and f["role"] == "agent")
    assert reply[-1]["text"] == "Hi, Sam here."
    await customer.send(json.dumps({"type": "message", "text": "Thanks Sam!", "client_id": "c1"}))
    on_console = await frames_until(console, lambda f: stored(f) and f.get("client_id") == "c1")
    assert on_console[-1]["conversation"] == public_id and on_console[-1]["seq"] == reply[-1]["seq"] + 1

    # The customer's process goes away; the widget reconnects to the agent's process and misses nothing.
    last_seen = on_console[-1]["seq"]
    await customer.close()
    await console.send(
        json.dumps({"type": "reply", "conversation": public_id, "text": "Still there?", "client_id": "a2"})
    )
    await frames_until(console, lambda f: f["type"] == "done" and f["action"] == "reply")
    back, ready = await widget_open(ports.b, token=session["token"], last_seq=last_seen)
    assert ready["status"] == "agent" and ready["last_seq"] == last_seen + 1
    missed = await frame_next(back)
    assert (missed["seq"], missed["role"], missed["text"]) == (last_seen + 1, "agent", "Still there?")
    await back.close()
    await console.close()
