"""The processes a browser test talks to: the real product under daphne, and a shop's page on another origin.

The product runs in a subprocess, exactly as ``make run`` serves it, so the browser meets the real
ASGI stack (static files, CORS, the websocket origin check) and a test can stop it with SIGTERM and
start it again on the same port and database.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench import stack

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 90.0  # the warm-up alone took over 30 s on a busy 2-core machine
# Stripped from the product's environment: each browser test gets its own SQLite file, in-process
# channel layer and eager Celery, so it never shares (or wipes) the suite's PostgreSQL or Redis.
ISOLATED_VARIABLES = ("DATABASE_URL", "REDIS_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "SUPPORTBOT_ALLOWED_ORIGINS")


def product_environment(
    *, data_dir: Path, port: int, allowed_origins: list[str], extra: dict[str, str]
) -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if name not in ISOLATED_VARIABLES}
    public_url = f"http://127.0.0.1:{port}"
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "supportbot.settings",
            "SUPPORTBOT_DATA_DIR": str(data_dir),
            "SUPPORTBOT_PUBLIC_URL": public_url,
            "SUPPORTBOT_ALLOWED_ORIGINS": ",".join([public_url, *allowed_origins]),
            "SECRET_KEY": "browser-tests-secret-key-that-is-long-enough-0123456789",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    environment.update(extra)
    return environment


def manage(*args: str, data_dir: Path, extra: dict[str, str] | None = None) -> None:
    """Run a management command against ``data_dir``'s database; fail with its output."""
    environment = product_environment(data_dir=data_dir, port=0, allowed_origins=[], extra=extra or {})
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


def data_dir_copy(*, seed: Path, target: Path) -> Path:
    """A fresh data folder holding a copy of the migrated seed database (seconds faster than migrating)."""
    target.mkdir(parents=True, exist_ok=True)
    for item in seed.iterdir():
        if item.is_file():
            shutil.copy2(item, target / item.name)
    return target


@dataclass
class ProductServer:
    """Supportbot under daphne on ``port`` with its own data folder."""

    data_dir: Path
    port: int = field(default_factory=stack.port_free)
    allowed_origins: list[str] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "daphne.log"

    def start(self) -> ProductServer:
        environment = product_environment(
            data_dir=self.data_dir, port=self.port, allowed_origins=self.allowed_origins, extra=self.extra_env
        )
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                stack.asgi_command(server="daphne", port=self.port),
                cwd=REPO_ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._ready_wait()
        return self

    def _ready_wait(self) -> None:
        assert self.process is not None
        try:
            stack.asgi_server_ready(self.process, port=self.port, timeout_s=START_TIMEOUT_S)
        except RuntimeError as error:
            raise AssertionError(f"{error}:\n{self.log_tail()}") from None

    def stop(self, *, crash: bool = False) -> None:
        """SIGTERM, as a deploy would (SIGKILL if it hangs); ``crash`` kills it outright, no clean-up at all."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL if crash else signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def log_tail(self, *, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


# --- the shop's own site, on another port --------------------------------------------------

# What real shop themes do to embedded widgets: aggressive resets, everything forced inline,
# containers hidden, huge inherited fonts and colours, every button restyled.
HOSTILE_CSS = """
*, *::before, *::after { margin: 0 !important; padding: 0 !important; border: 0 !important;
  box-sizing: content-box !important; font: 40px/0.5 "Comic Sans MS", fantasy !important;
  color: #f0f !important; background: #ff0 !important; letter-spacing: 6px !important; }
* { display: inline !important; position: static !important; z-index: 0 !important; visibility: visible !important; }
html, body { display: block !important; }
div, section, form, textarea, fieldset, span { display: none !important; }
button, input, textarea { all: unset !important; width: 0 !important; height: 0 !important; }
[hidden] { display: block !important; }
[role="dialog"], [role="log"], [role="status"] { display: none !important; }
"""


def host_page_html(*, widget_src: str, title: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A shop with a hostile theme</title>
<style>{HOSTILE_CSS}</style></head>
<body><h1>Hostile Theme Shop</h1><p>Our products, in a theme that resets everything.</p>
<script src="{widget_src}" data-title="{title}" defer></script>
</body></html>"""


class HostPageServer:
    """A tiny static server for the shop's page: any path answers with ``html``."""

    def __init__(self) -> None:
        self.html = "<!doctype html><title>empty</title>"
        page = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server spelling)
                body = page.html.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # quiet test output
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="host-page", daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
