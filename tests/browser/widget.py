"""Driving the embedded widget the way a customer does, and watching what it shows."""

from __future__ import annotations

# Records every text the newest assistant bubble shows, as it changes: the stream, observed in the page.
STREAM_RECORDER_JS = """
() => {
  const log = window.__supportbotWidget.shadowRoot.querySelector('.log');
  window.__streamStates = [];
  const record = () => {
    const bodies = log.querySelectorAll('.msg.assistant .body');
    if (!bodies.length) return;
    const text = bodies[bodies.length - 1].textContent;
    const states = window.__streamStates;
    if (text && states[states.length - 1] !== text) states.push(text);
  };
  new MutationObserver(record).observe(log, {childList: true, subtree: true, characterData: true});
}
"""


def widget_open(page) -> None:
    """Open the panel unless it is open already (the widget reopens it after a reload), then wait until
    the widget's socket is ready (the state bar clears)."""
    page.wait_for_function("() => window.__supportbotWidget !== undefined")
    if not widget_is_open(page):
        page.locator(".launcher").click()
    widget_ready_wait(page)


def widget_is_open(page) -> bool:
    return page.locator(".launcher").get_attribute("aria-expanded") == "true"


def widget_ready_wait(page, *, timeout_ms: int = 15_000) -> None:
    page.wait_for_function(
        "() => window.__supportbotWidget.shadowRoot.querySelector('.state').hidden", timeout=timeout_ms
    )


def widget_ask(page, text: str, *, box_name: str = "Type your message") -> None:
    """Type into the message box, found by its accessible name (``box_name`` in the widget's language)."""
    box = page.get_by_role("textbox", name=box_name)
    box.fill(text)
    box.press("Enter")


def stream_record(page) -> None:
    page.evaluate(STREAM_RECORDER_JS)


def stream_states(page) -> list[str]:
    return page.evaluate("() => window.__streamStates")


# A fresh process builds the help-centre index (embeddings included) on its first question: with a
# model configured that first answer can take many seconds on a busy machine before any token.
FIRST_ANSWER_TIMEOUT_MS = 90_000


def answer_wait(page, *, timeout_ms: int = FIRST_ANSWER_TIMEOUT_MS):
    """The stored answer: an assistant bubble with a seq (the streaming one has none)."""
    answer = page.locator(".msg.assistant[data-seq]").last
    answer.wait_for(timeout=timeout_ms)
    return answer


def answer_body_text(page) -> str:
    return page.locator(".msg.assistant[data-seq] .body").last.text_content() or ""
