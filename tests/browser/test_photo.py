"""A customer's photo as the two people live it: attached in the widget, seen by an agent in the console.

With no model configured (``make run``'s default, the offline engine) nothing here can look at a
picture, so the photo must reach a person, with a note saying why.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from tests.browser.conftest import host_page_show, screenshot_save
from tests.browser.widget import widget_open

# Each test starts the product under daphne and drives Chromium.
pytestmark = [pytest.mark.browser, pytest.mark.slow]

CAPTION = "The seam on my new mattress cover tore after one wash"
CAMERA_MAKE = "PhotoLeakCam"  # an EXIF tag the stored photo must not carry
PHOTO_SIZE = (320, 240)
NO_MODEL_NOTE = "can't look at photos right now"
EXIF_MAKE_TAG = 0x010F
PHOTO_TEXT = "(photo)"  # what a photo sent without a caption says in the transcript


def _photo_with_exif(path: Path) -> Path:
    """A real JPEG (two colour halves, so it is not blank) with a camera make in its EXIF."""
    image = Image.new("RGB", PHOTO_SIZE, (200, 40, 40))
    image.paste((40, 40, 200), (PHOTO_SIZE[0] // 2, 0, PHOTO_SIZE[0], PHOTO_SIZE[1]))
    exif = Image.Exif()
    exif[EXIF_MAKE_TAG] = CAMERA_MAKE
    image.save(path, format="JPEG", exif=exif.tobytes())
    assert Image.open(path).getexif().get(EXIF_MAKE_TAG) == CAMERA_MAKE  # the fixture itself carries it
    return path


def _agent_sign_in(page, product_url: str) -> None:
    page.goto(product_url + "/console/login/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("supportbot-agent")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("status").filter(has_text="Live").wait_for()


def _anonymous_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


def _image_loaded(locator) -> bool:
    return locator.evaluate("img => img.complete && img.naturalWidth > 0")


# The demo page serves the widget from its own origin; a shop's page is another origin, so the
# upload and the download cross it (a CORS preflight for the Authorization header).
@pytest.mark.parametrize("where", ["demo page", "shop on another origin"])
def test_photo_reaches_an_agent_with_a_note_and_only_staff_or_the_visitor_see_it(
    where, product_start, host_page, browser_context_new, tmp_path
):
    cross_origin = where == "shop on another origin"
    product = product_start(
        allowed_origins=[host_page.origin] if cross_origin else [], SUPPORTBOT_OFFLINE_WORD_DELAY_MS="5"
    )
    customer, customer_watch = browser_context_new(local_origins={product.url, host_page.origin})
    agent, agent_watch = browser_context_new(
        local_origins={product.url}, viewport={"width": 1280, "height": 800}, accept_dialogs=True
    )
    photo = _photo_with_exif(tmp_path / "torn-seam.jpg")

    customer.goto(host_page_show(host_page, product) if cross_origin else product.url + "/")
    widget_open(customer)
    customer.get_by_role("textbox", name="Type your message").fill(CAPTION)
    customer.get_by_role("button", name="Attach a photo").wait_for()
    customer.locator("input[type=file]").set_input_files(str(photo))  # what the attach button's picker fills

    sent = customer.locator(".msg.customer").filter(has_text=CAPTION)
    sent.wait_for()
    widget_photo = sent.locator("img.photo")
    widget_photo.wait_for()
    customer.wait_for_function(
        "() => { const img = window.__supportbotWidget.shadowRoot.querySelector('.msg.customer img.photo');"
        " return img && img.complete && img.naturalWidth > 0; }"
    )
    customer.locator(".event").filter(has_text=NO_MODEL_NOTE).wait_for()
    customer.locator(".event").filter(has_text="connecting you with a person").wait_for()
    assert customer.locator(".msg.assistant").count() == 0  # the bot did not pretend to see the photo

    _agent_sign_in(agent, product.url)
    card = agent.locator("#waiting li").filter(has_text=CAPTION)
    card.wait_for()
    card.locator(".reason").filter(has_text="photo attached; no image-capable model is configured").wait_for()
    card.click()
    agent.locator("#chat-log .event").filter(has_text=NO_MODEL_NOTE).wait_for()
    agent.get_by_role("button", name="Claim").click()
    customer.locator(".event").filter(has_text="Sam joined the chat").wait_for()
    agent.locator("#mine li").filter(has_text=CAPTION).wait_for()

    console_photo = agent.locator("#chat-log .msg.customer").filter(has_text=CAPTION).locator("img.photo")
    console_photo.wait_for()
    agent.wait_for_function(
        "() => { const img = document.querySelector('#chat-log .msg.customer img.photo');"
        " return img && img.complete && img.naturalWidth > 0; }"
    )
    assert _image_loaded(console_photo)
    if not cross_origin:
        screenshot_save(agent, "console-photo")

    # A second photo, without a caption, while Sam has the chat: it reaches the console live.
    customer.locator("input[type=file]").set_input_files(str(_photo_with_exif(tmp_path / "label.jpg")))
    agent.locator("#chat-log .msg.customer").filter(has_text=PHOTO_TEXT).locator("img.photo").wait_for()
    agent.wait_for_function(
        "() => [...document.querySelectorAll('#chat-log .msg.customer img.photo')]"
        ".filter(img => img.complete && img.naturalWidth > 0).length === 2"
    )
    # After a reload the widget replays the transcript and fetches both photos again with its token.
    customer.reload()
    widget_open(customer)
    customer.wait_for_function(
        "() => [...window.__supportbotWidget.shadowRoot.querySelectorAll('.msg.customer img.photo')]"
        ".filter(img => img.complete && img.naturalWidth > 0).length === 2"
    )
    assert customer.locator(".msg.assistant").count() == 0

    photo_url = console_photo.evaluate("img => img.src")
    assert photo_url.startswith(product.url + "/api/widget/attachments/")
    staff_copy = agent.context.request.get(photo_url)  # sam's session cookie
    assert staff_copy.status == 200
    stored = Image.open(BytesIO(staff_copy.body()))
    assert stored.format == "JPEG" and stored.size == PHOTO_SIZE
    assert EXIF_MAKE_TAG not in stored.getexif() and CAMERA_MAKE.encode() not in staff_copy.body()
    assert _anonymous_status(photo_url) in {401, 403, 404}
    # The customer's browser holds no cookie that opens it either: the widget sends its token in a header.
    assert customer.context.request.get(photo_url).status in {401, 403, 404}

    assert customer_watch.page_errors == [] and agent_watch.page_errors == []
    assert customer_watch.console_errors == [] and agent_watch.console_errors == []
