"""An axe-core audit of the widget, the agent console and the help centre, in English, Hindi and Arabic.

axe-core is vendored (static/vendor/axe-core/) and injected into each page as it stands; a serious or
critical violation anywhere fails the test, listed with the elements it was found on. The widget is
audited inside its shadow root, which axe reads.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import host_page_show
from tests.browser.servers import REPO_ROOT
from tests.browser.widget import answer_wait, widget_ask, widget_open
from tests.catalogues import widget_catalogue

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE_JS = REPO_ROOT / "static" / "vendor" / "axe-core" / "axe.min.js"
# English, a Devanagari locale and a right-to-left one.
LOCALES = [("en-US", "en"), ("hi-IN", "hi"), ("ar-EG", "ar")]

# Moderate in axe, but the console lacked one: every page of ours has exactly one main landmark.
OWN_PAGE_RULES = ["landmark-one-main"]

SEVERE_VIOLATIONS_JS = """
async (alsoRules) => {
  const results = await axe.run(document, {resultTypes: ['violations']});
  return results.violations
    .filter((violation) => ['serious', 'critical'].includes(violation.impact) || alsoRules.includes(violation.id))
    .map((violation) => ({
      rule: violation.id,
      impact: violation.impact,
      help: violation.help,
      nodes: violation.nodes.slice(0, 5).map((node) => [node.target.join(' >>> '), node.failureSummary]),
    }));
}
"""


def severe_violations(page, *, also_rules: list[str] = OWN_PAGE_RULES) -> list[dict]:
    """axe-core's serious and critical findings on the page as it is now, and any of ``also_rules``."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):  # once per page load
        page.add_script_tag(path=str(AXE_JS))
    return page.evaluate(SEVERE_VIOLATIONS_JS, also_rules)


SHOW_LATER_FORMS_JS = """
() => {
  const shadow = window.__supportbotWidget.shadowRoot;
  shadow.querySelector('.rating').hidden = false;
  shadow.querySelector('.ticket').hidden = false;
}
"""


SHOW_TYPING_JS = """
() => {
  const line = document.getElementById('chat-composing');
  line.hidden = false;
  line.textContent = 'typing';
}
"""


def _report(found: dict[str, list[dict]]) -> str:
    lines = []
    for where, violations in found.items():
        for violation in violations:
            lines.append(f"{where}: {violation['rule']} ({violation['impact']}): {violation['help']}")
            lines.extend(f"    {target}: {summary}" for target, summary in violation["nodes"])
    return "\n".join(lines)


def test_widget_has_no_serious_violation_open_with_a_conversation_rating_and_ticket_form(
    product_start, browser_context_new
):
    product = product_start()
    found: dict[str, list[dict]] = {}
    for browser_locale, language in LOCALES:
        page, _watch = browser_context_new(local_origins={product.url}, locale=browser_locale)
        page.goto(product.url + "/")
        found[f"demo shop, widget closed ({language})"] = severe_violations(page)
        widget_open(page)
        box_name = widget_catalogue(language)["Type your message"] if language != "en" else "Type your message"
        widget_ask(page, "how long is the trial?", box_name=box_name)
        answer_wait(page)
        found[f"widget with a conversation ({language})"] = severe_violations(page)
        # The rating and out-of-hours forms appear only in later states: shown here as they would be.
        page.evaluate(SHOW_LATER_FORMS_JS)
        found[f"widget with the rating and ticket forms ({language})"] = severe_violations(page)
    found = {where: violations for where, violations in found.items() if violations}
    assert found == {}, _report(found)


def test_widget_on_a_hostile_shop_page_has_no_serious_violation_of_its_own(
    product_start, host_page, browser_context_new
):
    product = product_start(allowed_origins=[host_page.origin])
    page, _watch = browser_context_new(local_origins={product.url, host_page.origin}, locale="hi-IN")
    page.goto(host_page_show(host_page, product))
    widget_open(page)
    # Only the widget: the hostile page's own colours are the shop's business.
    violations = [
        violation
        for violation in severe_violations(page, also_rules=[])
        if any("supportbot-widget" in target for target, _summary in violation["nodes"])
    ]
    assert violations == [], _report({"widget on the hostile page (hi)": violations})


def _agent_sign_in(page, product_url: str) -> None:
    page.goto(product_url + "/console/")
    page.locator("#id_username").fill("sam")
    page.locator("#id_password").fill("supportbot-agent")
    page.locator("button[type=submit]").click()
    page.locator("#connection.live").wait_for()


def test_console_has_no_serious_violation_signed_out_idle_or_in_a_chat(product_start, browser_context_new):
    product = product_start(SUPPORTBOT_OFFLINE_WORD_DELAY_MS="0")
    customer, _watch = browser_context_new(local_origins={product.url})
    customer.goto(product.url + "/")
    widget_open(customer)
    widget_ask(customer, "I want to talk to a person please")
    customer.locator(".event").first.wait_for()

    found: dict[str, list[dict]] = {}
    for browser_locale, language in LOCALES:
        agent, _agent_watch = browser_context_new(
            local_origins={product.url}, locale=browser_locale, viewport={"width": 1280, "height": 800}
        )
        agent.goto(product.url + "/console/login/")
        found[f"console sign-in ({language})"] = severe_violations(agent)
        _agent_sign_in(agent, product.url)
        agent.locator("#waiting li").first.wait_for()
        found[f"console, no chat open ({language})"] = severe_violations(agent)
        agent.locator("#waiting li").first.click()
        agent.locator("#chat-log .msg.customer").first.wait_for()
        found[f"console, a chat open ({language})"] = severe_violations(agent)
        # The staff-only tools as an agent sees them: a note in the transcript, search results, typing.
        agent.locator("#note-mode").check()
        agent.locator("#reply-text").fill("A note for the team")
        agent.locator("#reply-text").press("Enter")
        agent.locator("#chat-log .msg.note").last.wait_for()
        agent.locator("#search-text").fill("person")
        agent.locator("#search-results li").first.wait_for()
        agent.evaluate(SHOW_TYPING_JS)
        found[f"console, a note, search results and typing ({language})"] = severe_violations(agent)
    found = {where: violations for where, violations in found.items() if violations}
    assert found == {}, _report(found)


def test_help_centre_has_no_serious_violation(product_start, browser_context_new):
    product = product_start()
    found: dict[str, list[dict]] = {}
    for browser_locale, language in LOCALES:
        page, _watch = browser_context_new(local_origins={product.url}, locale=browser_locale)
        page.goto(product.url + "/help/")
        found[f"help centre index ({language})"] = severe_violations(page)
        page.goto(product.url + "/help/100-night-trial/")
        found[f"help centre article ({language})"] = severe_violations(page)
    found = {where: violations for where, violations in found.items() if violations}
    assert found == {}, _report(found)
