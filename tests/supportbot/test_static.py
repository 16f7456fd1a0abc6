"""Static files through the real ASGI application, as uvicorn or daphne hand requests to it."""

from __future__ import annotations

import asyncio
from urllib.parse import unquote

import pytest

from supportbot.asgi import application


async def http_get(raw_path: str) -> int:
    """The status the ASGI app answers a GET with; the server decodes %-escapes into ``path``."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1")],
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }
    body_sent = asyncio.Event()
    messages: list[dict] = []

    async def receive() -> dict:
        if not body_sent.is_set():
            body_sent.set()
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays connected until the response is done
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        messages.append(message)

    await application(scope, receive, send)
    return messages[0]["status"]


@pytest.mark.parametrize(
    "raw_path",
    ["/static/..%2f..%2fmanage.py", "/static/../../manage.py", "/static/%2e%2e/%2e%2e/manage.py", "/static/nope.js"],
)
async def test_a_path_outside_the_static_folder_or_missing_is_404(raw_path, caplog):
    assert await http_get(raw_path) == 404
    assert "SuspiciousFileOperation" not in caplog.text


async def test_the_widget_script_is_served():
    assert await http_get("/static/supportbot/widget.js") == 200


@pytest.mark.django_db
def test_the_favicon_browsers_ask_for_is_no_content_not_an_error(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 204 and response.content == b""
