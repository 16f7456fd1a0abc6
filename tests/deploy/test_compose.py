"""The compose smoke test: the image built, compose.yaml started, every service healthy by its
health check, one streamed answer and one handoff through the worker, over the published port.

    make compose-test        (or: .venv/bin/python -m pytest -m compose tests/deploy)

Needs docker and `docker compose` or `docker-compose`; fails (never skips) without them. The
official base images are used when they can be pulled, stand-ins from docker/base-images.sh
otherwise (or set BASE_IMAGE, POSTGRES_IMAGE and REDIS_IMAGE). The wheels are fetched on this
machine first (docker/wheels.sh, hashes checked) so the build needs no index.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from bench.ask import ask, session_open
from bench.handoff_check import card_for, console_cookie, frame_wait

pytestmark = pytest.mark.compose

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "supportbot-ci"
IMAGE = f"{PROJECT}:latest"
OFFICIAL_IMAGES = {
    "BASE_IMAGE": "python:3.11-slim-bookworm",
    "POSTGRES_IMAGE": "postgres:15-bookworm",
    "REDIS_IMAGE": "redis:7-bookworm",
}
LONG_RUNNING = ("web", "worker", "beat", "db", "redis")
HEALTHY_WITHIN_S = 300
# Only what docker and compose themselves need: no variable from this shell reaches the stack.
CLIENT_VARIABLES = ("PATH", "HOME", "LANG", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY")


@dataclass(frozen=True)
class Stack:
    url: str
    compose: list[str]
    env: dict[str, str]
    admin: tuple[str, str]

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return run([*self.compose, *args], env=self.env, timeout=timeout)


def run(
    args: list[str], *, env: dict[str, str] | None = None, timeout: float = 600, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def compose_command() -> list[str]:
    for candidate in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(candidate[0]) and run([*candidate, "version"], check=False).returncode == 0:
            return candidate
    pytest.fail("neither `docker compose` nor `docker-compose` is installed")


def base_images() -> dict[str, str]:
    """The official images when this machine can pull them; stand-ins built from Debian otherwise."""
    configured = {name: os.environ[name] for name in OFFICIAL_IMAGES if os.environ.get(name)}
    if len(configured) == len(OFFICIAL_IMAGES):
        return configured
    if all(run(["docker", "pull", image], check=False).returncode == 0 for image in OFFICIAL_IMAGES.values()):
        return dict(OFFICIAL_IMAGES)
    output = run([str(ROOT / "docker" / "base-images.sh")], timeout=1200).stdout
    return dict(line.split("=", 1) for line in output.split())


def free_port() -> int:
    for port in range(18080, 18180):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    pytest.fail("no free port in 18080-18179")


def container_states() -> dict[str, tuple[str, int, str]]:
    """service -> (state, exit code, health) for every container of the project."""
    ids = run(["docker", "ps", "--all", "--quiet", "--filter", f"label=com.docker.compose.project={PROJECT}"]).stdout
    if not ids.split():
        return {}
    template = '{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} {{.State.ExitCode}} '
    template += "{{if .State.Health}}{{.State.Health.Status}}{{else}}-{{end}}"
    states = {}
    for line in run(["docker", "inspect", "--format", template, *ids.split()]).stdout.splitlines():
        service, state, exit_code, health = line.split()
        states[service] = (state, int(exit_code), health)
    return states


def stack_logs(stack_compose: list[str], env: dict[str, str]) -> str:
    ps = run([*stack_compose, "ps"], env=env, check=False).stdout
    logs = run([*stack_compose, "logs", "--no-color", "--tail", "80"], env=env, check=False).stdout
    return f"{ps}\n{logs}"


def healthy_wait(compose: list[str], env: dict[str, str]) -> None:
    deadline = time.monotonic() + HEALTHY_WITHIN_S
    while time.monotonic() < deadline:
        states = container_states()
        migrated = states.get("migrate", ("", -1, ""))[:2] == ("exited", 0)
        if migrated and all(states.get(s, ("", 0, ""))[::2] == ("running", "healthy") for s in LONG_RUNNING):
            return
        time.sleep(3)
    pytest.fail(f"not every service healthy within {HEALTHY_WITHIN_S} s: {states}\n{stack_logs(compose, env)}")


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    if run(["docker", "info"], check=False).returncode != 0:
        pytest.fail("docker is not available (is dockerd running?)")
    compose = [*compose_command(), "--project-name", PROJECT, "--file", str(ROOT / "compose.yaml")]
    images = base_images()
    run([str(ROOT / "docker" / "wheels.sh")], env={**os.environ, "PYTHON": sys.executable}, timeout=1200)
    port = free_port()
    env = {name: os.environ[name] for name in CLIENT_VARIABLES if name in os.environ}
    env |= images | {
        "SUPPORTBOT_IMAGE": IMAGE,
        "PIP_INSTALL_OPTIONS": "--no-index --find-links /wheels",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        "SUPPORTBOT_HTTP_PORT": str(port),
        "SUPPORTBOT_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    run([*compose, "down", "--volumes", "--remove-orphans"], env=env, check=False)  # an interrupted run's
    try:
        started = time.monotonic()
        run([*compose, "build", "web"], env=env, timeout=1800)
        built = time.monotonic()
        run([*compose, "up", "--detach", "--no-build"], env=env, timeout=600)
        healthy_wait(compose, env)
        print(f"image built in {built - started:.0f} s; stack healthy {time.monotonic() - built:.0f} s after `up`")
        admin = ("smoke-admin", secrets.token_urlsafe(16))
        stack = Stack(url=f"http://127.0.0.1:{port}", compose=compose, env=env, admin=admin)
        # The first-run steps of docs/deploy.md: a superuser (who is staff, so also an agent) and articles.
        stack.run("exec", "-T", "-e", f"DJANGO_SUPERUSER_PASSWORD={admin[1]}", "web", "python", "manage.py",
                  "createsuperuser", "--noinput", "--username", admin[0], "--email", "admin@example.com")  # fmt: skip
        stack.run("exec", "-T", "web", "python", "manage.py", "load_demo_helpcentre")
        yield stack
    finally:
        run([*compose, "down", "--volumes", "--remove-orphans"], env=env, check=False, timeout=300)


@pytest.fixture(autouse=True)
def _logs_on_failure(request: pytest.FixtureRequest, stack: Stack) -> Iterator[None]:
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(stack_logs(stack.compose, stack.env))


def test_every_service_is_healthy_by_its_health_check(stack):
    states = container_states()
    assert {service: states[service] for service in LONG_RUNNING} == {
        service: ("running", 0, "healthy") for service in LONG_RUNNING
    }
    assert states["migrate"][:2] == ("exited", 0)
    listing = stack.run("ps").stdout
    print(listing)
    for service in LONG_RUNNING:
        lines = [line for line in listing.splitlines() if f"_{service}_" in line or f"-{service}-" in line]
        assert len(lines) == 1 and "(healthy)" in lines[0], listing


def test_readyz_over_the_published_port_reports_search_by_meaning(stack):
    with urllib.request.urlopen(stack.url + "/readyz", timeout=30) as response:
        body = json.load(response)
    assert body["status"] == "ok", body
    assert body["checks"]["database"]["vendor"] == "postgresql"
    assert body["checks"]["broker"]["transport"] == "redis"
    assert body["checks"]["help_centre"]["search_by_meaning"] is True  # the model package is in the image


def test_a_widget_session_gets_a_streamed_answer(stack):
    result = asyncio.run(asyncio.wait_for(ask(stack.url, "how long is the trial?"), timeout=90))
    assert len(result["tokens"]) >= 5
    assert result["frame"]["role"] == "assistant"
    assert "100_NIGHT_TRIAL_OFFER" in {citation["key"] for citation in result["frame"]["citations"]}


async def handoff_through_worker(url: str, username: str, password: str) -> list[str]:
    """A customer asks for a person; the worker summarises and reserves the conversation for the
    only online agent, who claims, replies and closes it. Returns what the customer saw."""
    cookie = console_cookie(url, username, password)
    session = session_open(url, url)
    conversation = session["conversation_id"]
    ws_url = url.replace("http", "ws", 1) + "/ws/console/"
    seen = []
    async with (
        connect(session["websocket_url"], origin=url) as customer,
        connect(ws_url, origin=url, additional_headers={"Cookie": cookie}) as console,
    ):
        await frame_wait(console, lambda f: f["type"] == "queue")
        await customer.send(json.dumps({"type": "hello", "token": session["token"], "last_seq": 0}))
        await frame_wait(customer, lambda f: f["type"] == "ready")
        text = "My LiftBase shows E04, can I talk to a person?"
        await customer.send(json.dumps({"type": "message", "text": text, "client_id": "smoke-1"}))
        seen.append((await frame_wait(customer, lambda f: f.get("data", {}).get("status") == "waiting"))["text"])

        def summarised_and_reserved(frame: dict) -> bool:
            card = card_for(frame, conversation) if frame["type"] == "queue" else None
            return bool(card and card["assigned_to"] and (card["summary"] or {}).get("status") == "done")

        # Claiming only after the worker's reservation has committed.
        await frame_wait(console, summarised_and_reserved, timeout=60)
        await console.send(json.dumps({"type": "claim", "conversation": conversation}))
        seen.append((await frame_wait(customer, lambda f: "joined" in f.get("text", "")))["text"])
        reply = {"type": "reply", "conversation": conversation, "text": "Hello, let's fix that E04.", "client_id": "r1"}
        await console.send(json.dumps(reply))
        seen.append((await frame_wait(customer, lambda f: f.get("role") == "agent"))["text"])
        await console.send(json.dumps({"type": "close", "conversation": conversation}))
        seen.append((await frame_wait(customer, lambda f: f.get("data", {}).get("status") == "closed"))["text"])
    return seen


def test_a_handoff_goes_through_the_worker_to_an_agent(stack):
    seen = asyncio.run(asyncio.wait_for(handoff_through_worker(stack.url, *stack.admin), timeout=120))
    assert seen[2] == "Hello, let's fix that E04."
    assert "joined" in seen[1]
    assert len(seen) == 4
