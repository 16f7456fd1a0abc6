"""Ask a running Supportbot one question over the widget protocol and print the streamed answer.

python -m bench.ask "how long is the trial?" [--server http://127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import urllib.request

from websockets.asyncio.client import connect


def session_open(server: str, origin: str) -> dict:
    request = urllib.request.Request(
        server + "/api/widget/session",
        data=b"{}",
        method="POST",
        headers={"Origin": origin, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


async def ask(server: str, question: str) -> dict:
    session = session_open(server, server)
    started = time.monotonic()
    tokens: list[tuple[float, str]] = []
    async with connect(session["websocket_url"], origin=server) as socket:
        await socket.send(json.dumps({"type": "hello", "token": session["token"], "last_seq": 0}))
        await socket.send(json.dumps({"type": "message", "text": question, "client_id": "ask-1"}))
        async for raw in socket:
            frame = json.loads(raw)
            if frame["type"] == "typing":
                print(f"[{frame['tier']}: {frame['reason']}]")
            elif frame["type"] == "token":
                tokens.append((time.monotonic() - started, frame["text"]))
                print(frame["text"], end="", flush=True)
            elif frame["type"] == "message" and frame["role"] in {"assistant", "system"}:
                print(
                    f"\n[stored seq {frame['seq']}, {len(tokens)} tokens streamed, citations {frame.get('citations')}]"
                )
                return {"frame": frame, "tokens": tokens, "conversation_id": session["conversation_id"]}
    raise RuntimeError("socket closed before the answer arrived")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question")
    parser.add_argument("--server", default="http://127.0.0.1:8000")
    args = parser.parse_args()
    asyncio.run(ask(args.server.rstrip("/"), args.question))


if __name__ == "__main__":
    main()
