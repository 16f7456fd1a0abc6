"""The misbehaving model server as its docstring says to start it from a shell."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

HOSTILE_OK = "hostile:ok"


def test_python_m_starts_the_server_and_it_answers_a_streamed_completion() -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.hostile_server", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = server.stdout.readline()  # "listening on http://127.0.0.1:PORT/v1; models: ..."
        assert line.startswith("listening on http://"), line
        url = line.split()[2].rstrip(";")
        body = json.dumps({"model": HOSTILE_OK, "stream": True, "messages": [{"role": "user", "content": "hi"}]})
        request = urllib.request.Request(
            f"{url}/chat/completions", data=body.encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            streamed = response.read().decode()
        assert "hostile1" in streamed and streamed.rstrip().endswith("data: [DONE]")
    finally:
        server.kill()
        server.wait()
