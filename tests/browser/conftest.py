"""Browser fixtures: Debian's Chromium through Playwright, the product under daphne, a shop on another origin.

The test process only drives the browser (Playwright's sync API, so no event loop meets
pytest-asyncio's); the product runs in a subprocess with its own migrated SQLite database.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

from bench.openai_server import OpenAICompatServer
from tests.browser.servers import REPO_ROOT, HostPageServer, ProductServer, data_dir_copy, host_page_html, manage

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Screenshots land in an ignored folder; the ones the README shows are copied up to docs/screenshots/.
SCREENSHOT_DIR = REPO_ROOT / "docs" / "screenshots" / "tmp"
WIDGET_TITLE = "Shop support"


def chromium_find() -> str | None:
    for candidate in (os.environ.get("SUPPORTBOT_CHROMIUM"), *CHROMIUM_CANDIDATES, shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = chromium_find()
    if path is None:
        message = "Chromium not found (apt-get install chromium, or make test installs it)"
        if os.environ.get("SUPPORTBOT_REQUIRE_SERVICES") == "1":
            pytest.fail(message + "; SUPPORTBOT_REQUIRE_SERVICES=1 forbids skipping", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def seed_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once per session, with the demo accounts (sam, admin) and the demo help centre."""
    seed = tmp_path_factory.mktemp("seed")
    manage("migrate", "--noinput", data_dir=seed)
    manage("demo_setup", data_dir=seed)
    return seed


@pytest.fixture
def host_page() -> Iterator[HostPageServer]:
    server = HostPageServer()
    yield server
    server.close()


ProductStart = Callable[..., ProductServer]


@pytest.fixture
def product_start(seed_data_dir: Path, tmp_path: Path) -> Iterator[ProductStart]:
    """Start the product on a copy of the seed database; keyword arguments become environment variables."""
    started: list[ProductServer] = []

    def start(*, allowed_origins: list[str] | None = None, commands: tuple[str, ...] = (), **env: str) -> ProductServer:
        data_dir = data_dir_copy(seed=seed_data_dir, target=tmp_path / f"product{len(started)}")
        for command in commands:  # e.g. "generate_demo_month", run before the server starts
            manage(*command.split(), data_dir=data_dir)
        server = ProductServer(data_dir=data_dir, allowed_origins=allowed_origins or [], extra_env=env)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def model_server_start() -> Iterator[Callable[..., OpenAICompatServer]]:
    """A local OpenAI-compatible server that streams ``text`` (it reads ``server.text`` per request)."""
    started: list[OpenAICompatServer] = []

    def start(*, text: str, chunks: int, interval_ms: float) -> OpenAICompatServer:
        server = OpenAICompatServer(text=text, chunks=chunks, interval_ms=interval_ms).serve_in_thread()
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def model_env(server: OpenAICompatServer) -> dict[str, str]:
    """The environment that points the product at ``server``, as a real deployment's key and URL would."""
    return {"OPENAI_API_KEY": "sk-browser-tests", "OPENAI_BASE_URL": server.url}


@dataclass
class PageWatch:
    """Everything a page did that a test may want to forbid: dialogs, console errors, requests."""

    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def foreign_requests(self, *, allowed_origins: set[str]) -> list[str]:
        return [url for url in self.requests if _origin(url) not in allowed_origins and not url.startswith("data:")]


def _origin(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}"


@pytest.fixture
def browser_context_new(browser) -> Iterator[Callable[..., tuple[object, PageWatch]]]:
    """New isolated browser contexts (own storage, own cookies); each page's events are recorded."""
    contexts = []

    def new(
        *,
        local_origins: set[str] | None = None,
        viewport: dict[str, int] | None = None,
        accept_dialogs: bool = False,
        locale: str | None = None,
    ):
        # locale sets the browser's languages (navigator.languages and Accept-Language), e.g. "hi-IN".
        context = browser.new_context(viewport=viewport or {"width": 1100, "height": 760}, locale=locale)
        contexts.append(context)
        context.set_default_timeout(15_000)
        page = context.new_page()
        watch = PageWatch()

        def dialog_seen(dialog) -> None:
            watch.dialogs.append(dialog.message)
            dialog.accept() if accept_dialogs else dialog.dismiss()

        def console_seen(message) -> None:
            if message.type == "error":
                watch.console_errors.append(message.text)

        page.on("dialog", dialog_seen)
        page.on("console", console_seen)
        page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
        page.on("request", lambda request: watch.requests.append(request.url))
        if local_origins is not None:
            # Recorded above, then refused here: a test must never depend on (or leak to) the internet.
            context.route(
                "**/*",
                lambda route: route.continue_() if _origin(route.request.url) in local_origins else route.abort(),
            )
        return page, watch

    yield new
    for context in contexts:
        context.close()


def screenshot_save(page, name: str, *, full_page: bool = False) -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def host_page_show(host_page: HostPageServer, product: ProductServer) -> str:
    """Put the widget's script tag on the hostile shop page; returns the page's URL."""
    host_page.html = host_page_html(widget_src=f"{product.url}/static/supportbot/widget.js", title=WIDGET_TITLE)
    return host_page.origin + "/"
