"""Walk a running Supportbot through a handoff, as a customer and an agent would, and time it.

    python -m bench.handoff_check [--server http://127.0.0.1:8000] [--agent sam --password supportbot-agent]

The customer asks for a person over the widget protocol; the agent signs in to the console
and watches its socket until the conversation shows up with its summary; the agent claims,
replies, and closes; the customer must see the reply live. Prints each step with its timing.
"""

from __future__ import annotations

import argparse
import asyncio
import http.cookiejar
import json
import re
import time
import urllib.parse
import urllib.request

from websockets.asyncio.client import connect

from bench.ask import session_open


def console_cookie(server: str, username: str, password: str) -> str:
    """Sign in at /console/login/ like a browser (CSRF cookie and token) and return the Cookie header."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(server + "/console/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username, "password": password}).encode()
    request = urllib.request.Request(
        server + "/console/login/", data=form, headers={"Referer": server + "/console/login/"}
    )
    opener.open(request, timeout=10)
    cookies = {cookie.name: cookie.value for cookie in jar}
    if "sessionid" not in cookies:
        raise SystemExit("console sign-in failed")
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


async def frame_wait(socket, predicate, *, timeout: float = 15.0) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await socket.recv())
            if predicate(frame):
                return frame


def card_for(frame: dict, conversation: str) -> dict | None:
    for card in frame.get("waiting", []) + frame.get("mine", []):
        if card["conversation"] == conversation:
            return card
    return None


async def check(server: str, username: str, password: str) -> None:
    ws_base = server.replace("http", "ws", 1)
    cookie = console_cookie(server, username, password)
    session = session_open(server, server)
    conversation = session["conversation_id"]
    async with (
        connect(session["websocket_url"], origin=server) as customer,
        connect(ws_base + "/ws/console/", origin=server, additional_headers={"Cookie": cookie}) as console,
    ):
        await frame_wait(console, lambda f: f["type"] == "queue")
        await customer.send(json.dumps({"type": "hello", "token": session["token"], "last_seq": 0}))
        await frame_wait(customer, lambda f: f["type"] == "ready")
        await customer.send(
            json.dumps({"type": "message", "text": "My LiftBase shows E04, can I talk to a person?", "client_id": "h1"})
        )
        asked = time.monotonic()
        queued = await frame_wait(customer, lambda f: f.get("data", {}).get("status") == "waiting")
        print(f"customer: {queued['text']!r}")
        frame = await frame_wait(
            console,
            lambda f: (
                f["type"] == "queue"
                and (card := card_for(f, conversation)) is not None
                and card["summary"]
                and card["summary"].get("status") == "done"
            ),
        )
        card = card_for(frame, conversation)
        print(f"console: conversation in the queue with its summary after {time.monotonic() - asked:.2f} s")
        print(f"  summary: {card['summary']['text'][:160]!r}")
        await console.send(json.dumps({"type": "claim", "conversation": conversation}))
        joined = await frame_wait(customer, lambda f: f.get("kind") == "event" and "joined" in f.get("text", ""))
        print(f"customer: {joined['text']!r}")
        await console.send(
            json.dumps(
                {
                    "type": "reply",
                    "conversation": conversation,
                    "text": "Hi, Sam here. Let's fix that E04.",
                    "client_id": "r1",
                }
            )
        )
        sent = time.monotonic()
        reply = await frame_wait(customer, lambda f: f.get("role") == "agent")
        waited_ms = (time.monotonic() - sent) * 1000
        print(f"customer: agent reply {reply['text']!r} seq {reply['seq']} after {waited_ms:.0f} ms")
        await console.send(json.dumps({"type": "close", "conversation": conversation}))
        closed = await frame_wait(customer, lambda f: f.get("data", {}).get("status") == "closed")
        print(f"customer: {closed['text']!r}")
        rating = await frame_wait(customer, lambda f: f.get("data", {}).get("event") == "rating_requested")
        print(f"customer: {rating['text']!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="http://127.0.0.1:8000")
    parser.add_argument("--agent", default="sam")
    parser.add_argument("--password", default="supportbot-agent")
    args = parser.parse_args()
    asyncio.run(check(args.server.rstrip("/"), args.agent, args.password))


if __name__ == "__main__":
    main()
