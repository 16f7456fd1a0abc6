"""The shop's signed-in customer through the real widget: named in the console, emailed the transcript,
and never handed the previous shopper's chat on the same browser."""

from __future__ import annotations

import html

import pytest

from conversations.identity import identity_hash
from tests.browser.conftest import WIDGET_TITLE, screenshot_save
from tests.browser.servers import HostPageServer, ProductServer, host_page_html
from tests.browser.widget import widget_open, widget_ready_wait

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SECRET = "browser-tests-identity-secret-0123456789"


def signed_in_page(host_page: HostPageServer, product: ProductServer, *, user_id: str, email: str, name: str) -> str:
    """The shop's page for a signed-in shopper: the script tag carries who it is, signed by the shop's server."""
    attributes = {
        "data-user-id": user_id,
        "data-user-email": email,
        "data-user-name": name,
        "data-user-hash": identity_hash(user_id=user_id, secret=SECRET),
    }
    tag = " ".join(f'{key}="{html.escape(value)}"' for key, value in attributes.items())
    page = host_page_html(widget_src=f"{product.url}/static/supportbot/widget.js", title=WIDGET_TITLE)
    host_page.html = page.replace(" defer></script>", f" {tag} defer></script>")
    return host_page.origin + "/"


def test_a_signed_in_shopper_is_named_in_the_console_and_gets_the_transcript_by_email(
    product_start, host_page, browser_context_new
):
    product = product_start(allowed_origins=[host_page.origin], SUPPORTBOT_IDENTITY_SECRET=SECRET)
    customer, customer_watch = browser_context_new(local_origins={product.url, host_page.origin})
    agent, _ = browser_context_new(local_origins={product.url}, viewport={"width": 1280, "height": 800})

    customer.goto(signed_in_page(host_page, product, user_id="user-42", email="pat@example.com", name="Pat Doe"))
    widget_open(customer)
    customer.get_by_role("button", name="Talk to a person").click()
    customer.locator(".event").filter(has_text="connecting you with a person").wait_for()

    agent.goto(product.url + "/console/")
    agent.get_by_label("Username").fill("sam")
    agent.get_by_label("Password").fill("supportbot-agent")
    agent.get_by_role("button", name="Sign in").click()
    card = agent.locator("#waiting li").filter(has_text="Verified customer: Pat Doe · pat@example.com · user-42")
    card.wait_for()
    card.click()
    agent.locator("#chat-customer").filter(has_text="Verified customer: Pat Doe").wait_for()
    screenshot_save(agent, "console-verified-customer")

    customer.get_by_role("button", name="Email me this conversation").click()
    # The transcript form's box (with nobody online yet, the ticket form beside the queue has one too).
    email_box = customer.get_by_role("form", name="Email me this conversation").get_by_role(
        "textbox", name="Your email"
    )
    assert email_box.input_value() == "pat@example.com"  # from data-user-email
    screenshot_save(customer, "widget-transcript-by-email")
    customer.get_by_role("button", name="Send transcript").click()
    customer.get_by_role("status").filter(has_text="We'll email this conversation to pat@example.com.").wait_for()
    # The console email backend prints what it sends to the server's output.
    log = product.log_path.read_text(errors="replace")
    assert "Subject: Your conversation with" in log and "To: pat@example.com" in log
    assert "connecting you with a person" in log
    assert customer_watch.page_errors == [] and customer_watch.console_errors == []

    # Another shopper signs in on the same browser: a new, empty chat, not Pat's.
    customer.goto(signed_in_page(host_page, product, user_id="user-43", email="sam@example.com", name="Sam Roe"))
    customer.wait_for_function("() => window.__supportbotWidget !== undefined")
    assert customer.locator(".panel").is_hidden()  # Pat's chat does not reopen by itself
    customer.locator(".launcher").click()
    widget_ready_wait(customer)
    assert customer.locator(".event").count() == 0
