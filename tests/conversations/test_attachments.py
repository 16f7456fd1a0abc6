from __future__ import annotations

import asyncio
import base64
import json
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from PIL import Image

from conversations import attachments
from conversations.console.selectors import console_queue
from conversations.models import Attachment, Conversation, Message
from conversations.services import conversation_open
from routing.models import Tier
from routing.router import HistoryItem
from routing.selectors import tier_catalogue
from routing.services import answer_plan_make
from routing.tiers import TierName, default_catalogue
from tests.conftest import ALLOWED_ORIGIN, frames_until

UPLOAD_URL = "/api/widget/attachments"


def photo_bytes(*, size: tuple[int, int] = (64, 48), image_format: str = "JPEG", exif_make: str = "") -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    out = BytesIO()
    options: dict = {}
    if exif_make:
        exif = Image.Exif()
        exif[0x010F] = exif_make  # Make
        exif[0x8825] = {2: (12.0, 34.0, 56.0)}  # GPS latitude
        options["exif"] = exif.tobytes()
    image.save(out, format=image_format, **options)
    return out.getvalue()


def upload(client: Client, *, token: str | None, data: bytes, name: str = "photo.jpg", **headers) -> object:
    extra = {"HTTP_ORIGIN": ALLOWED_ORIGIN, **headers}
    if token is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(UPLOAD_URL, {"file": SimpleUploadedFile(name, data, content_type="image/jpeg")}, **extra)


def tier_disable(*, name: TierName) -> None:
    """A transactional test may start with the seeded tier rows flushed away: write the row whole."""
    config = default_catalogue()[name]
    values = {
        f: getattr(config, f)
        for f in (
            "context_window",
            "price_input_per_1k",
            "price_cached_input_per_1k",
            "price_output_per_1k",
            "latency_target_ms",
            "multimodal",
        )
    }
    Tier.objects.update_or_create(name=name, defaults={**values, "enabled": False})


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    """Photos go to this test's own folder, kept as the product's local storage keeps them."""
    settings.DATA_DIR = tmp_path / "data"
    local = {"location": settings.DATA_DIR / "attachments", "file_permissions_mode": 0o600}
    local["directory_permissions_mode"] = 0o700
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": local},
    }


# --- validation by bytes -----------------------------------------------------------------


@pytest.mark.parametrize(
    "image_format,content_type", [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_type_is_read_from_the_magic_number(image_format, content_type):
    assert attachments.image_type_sniff(data=photo_bytes(image_format=image_format)) == content_type


def test_a_script_named_like_a_photo_is_refused():
    with pytest.raises(attachments.AttachmentRefused) as refused:
        attachments.image_clean(data=b"<script>alert(1)</script>")
    assert refused.value.code == "unsupported_type"


def test_truncated_image_with_a_valid_magic_number_is_refused():
    with pytest.raises(attachments.AttachmentRefused) as refused:
        attachments.image_clean(data=photo_bytes()[:40])
    assert refused.value.code == "not_an_image"


def test_metadata_is_stripped_and_the_picture_kept():
    original = photo_bytes(exif_make="SecretCam-4711")
    assert b"SecretCam-4711" in original
    clean = attachments.image_clean(data=original)
    assert b"SecretCam-4711" not in clean.data
    with Image.open(BytesIO(clean.data)) as reopened:
        assert dict(reopened.getexif()) == {}
        assert reopened.size == (64, 48)
        assert reopened.getpixel((10, 10))[0] > 150  # still the red photo


def test_oversized_photo_is_shrunk_to_the_side_limit_keeping_its_shape():
    clean = attachments.image_clean(data=photo_bytes(size=(4000, 3000)))
    assert (clean.width, clean.height) == (attachments.MAX_SIDE_PX, 1536)
    assert len(clean.data) <= attachments.MAX_STORED_BYTES


def test_files_over_the_byte_limit_are_refused_before_decoding():
    with pytest.raises(attachments.AttachmentRefused) as refused:
        attachments.image_clean(data=b"\xff\xd8\xff" + bytes(attachments.MAX_UPLOAD_BYTES))
    assert refused.value.code == "too_large"


def test_decompression_bomb_is_refused():
    out = BytesIO()
    Image.new("1", (8000, 8000)).save(out, format="PNG")  # a few kB that decode to 64 megapixels
    with pytest.raises(attachments.AttachmentRefused) as refused:
        attachments.image_clean(data=out.getvalue())
    assert refused.value.code == "too_many_pixels"


def test_a_photo_the_decoder_refuses_to_open_for_its_size_is_too_many_pixels_not_unreadable(monkeypatch):
    # Past twice Pillow's own limit, opening it raises DecompressionBombError (a 16000 x 12000 photo does).
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)
    out = BytesIO()
    Image.new("RGB", (100, 100)).save(out, format="PNG")
    with pytest.raises(attachments.AttachmentRefused) as refused:
        attachments.image_clean(data=out.getvalue())
    assert refused.value.code == "too_many_pixels"


# --- upload and download ---------------------------------------------------------------------


def test_upload_needs_the_visitor_token_in_the_header_never_the_url(client, customer_session):
    _, token = customer_session
    assert upload(client, token=None, data=photo_bytes()).status_code == 401
    query = client.post(f"{UPLOAD_URL}?token={token}", {"file": BytesIO(photo_bytes())}, HTTP_ORIGIN=ALLOWED_ORIGIN)
    assert query.status_code == 401
    assert Attachment.objects.count() == 0


def test_preflight_allows_the_authorization_header_for_shop_origins_only(client):
    allowed = client.options(UPLOAD_URL, HTTP_ORIGIN=ALLOWED_ORIGIN)
    assert allowed.status_code == 204
    assert allowed["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "Authorization" in allowed["Access-Control-Allow-Headers"]
    assert client.options(UPLOAD_URL, HTTP_ORIGIN="https://evil.example").status_code == 403


@pytest.mark.parametrize("origin", ["https://evil.example", "null", None])
def test_an_upload_from_another_site_or_no_site_is_refused_before_anything_is_read(client, customer_session, origin):
    _, token = customer_session
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if origin is not None:
        headers["HTTP_ORIGIN"] = origin
    response = client.post(UPLOAD_URL, {"file": BytesIO(photo_bytes())}, **headers)
    assert response.status_code == 403 and response.json()["error"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response
    assert Attachment.objects.count() == 0


def test_upload_stores_a_cleaned_copy_outside_the_web_root(client, customer_session, settings):
    public_id, token = customer_session
    response = upload(client, token=token, data=photo_bytes(exif_make="SecretCam-4711"), name="../../etc/passwd.jpg")
    assert response.status_code == 201
    body = response.json()["attachment"]
    stored = Attachment.objects.get(public_id=body["id"])
    path = Path(attachments.attachment_storage().path(stored.stored_name))
    assert path.parent == settings.DATA_DIR / "attachments"
    assert settings.STATIC_ROOT not in path.parents
    assert path.stat().st_mode & 0o777 == 0o600
    assert b"SecretCam-4711" not in path.read_bytes()
    assert stored.conversation.public_id == public_id and stored.message is None
    assert "passwd" not in stored.stored_name


def test_upload_of_a_non_image_is_refused_with_its_reason(client, customer_session):
    _, token = customer_session
    response = upload(client, token=token, data=b"%PDF-1.4 not a photo", name="photo.jpg")
    assert response.status_code == 400 and response.json()["error"] == "unsupported_type"


def test_photo_is_served_to_its_visitor_and_to_staff_only(client, customer_session, agent):
    _, token = customer_session
    body = upload(client, token=token, data=photo_bytes()).json()["attachment"]
    url = f"{UPLOAD_URL}/{body['id']}"

    own = client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ORIGIN=ALLOWED_ORIGIN)
    assert own.status_code == 200 and own["Content-Type"] == "image/jpeg"
    assert own.content.startswith(b"\xff\xd8\xff")
    assert own["Cache-Control"] == "private, no-store" and "sandbox" in own["Content-Security-Policy"]

    _, other_token = conversation_open(origin=ALLOWED_ORIGIN)
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {other_token}").status_code == 404
    assert client.get(url).status_code == 404

    staff = Client()
    staff.force_login(agent)
    assert staff.get(url).content == own.content
    agent.is_staff = False
    agent.save()
    assert staff.get(url).status_code == 404


# --- the photo in the conversation ----------------------------------------------------------

pytest_socket = pytest.mark.django_db(transaction=True)


async def send_photo(widget, *, token: str, caption: str = "The seam tore after a week") -> dict:
    response = await database_sync_to_async(lambda: upload(Client(), token=token, data=photo_bytes()))()
    assert response.status_code == 201
    attachment = response.json()["attachment"]
    await widget.send_json_to({"type": "message", "text": caption, "client_id": "p-1", "attachment": attachment["id"]})
    return attachment


def is_answer(frame: dict) -> bool:
    return frame["type"] == "message" and frame["role"] == "assistant"


async def answers_settled(timeout: float = 20.0) -> None:
    """The handoff is broadcast before its inline (eager) tasks finish: let the answer task end
    inside this test, or it would still hold the conversation when the next test starts."""
    from conversations import answering

    async with asyncio.timeout(timeout):
        while answering._live:
            await asyncio.sleep(0.05)


def is_handoff(frame: dict) -> bool:
    return frame["type"] == "message" and (frame.get("data") or {}).get("event") == "handoff_requested"


@pytest_socket
async def test_photo_goes_to_pro_as_an_image_content_part(widget, customer_session, llm):
    _, token = customer_session
    attachment = await send_photo(widget, token=token)
    frames = await frames_until(widget, is_answer)

    customer = frames[0]
    assert customer["role"] == "customer" and customer["attachment"]["id"] == attachment["id"]
    assert frames[-1]["tier"] == TierName.PRO
    assert len(llm.requests) == 1
    body = llm.requests[0].body
    assert body["model"] == "gpt-5.5-pro"
    last = body["messages"][-1]
    assert last["role"] == "user"
    text_part, image_part = last["content"]
    assert text_part == {"type": "text", "text": "The seam tore after a week"}
    assert image_part["type"] == "image_url"
    prefix = "data:image/jpeg;base64,"
    assert image_part["image_url"]["url"].startswith(prefix)
    sent = base64.b64decode(image_part["image_url"]["url"][len(prefix) :])
    stored = await database_sync_to_async(lambda: Attachment.objects.get(public_id=attachment["id"]))()
    assert sent == attachments.attachment_read(attachment=stored)
    assert stored.message_id is not None


@pytest_socket
async def test_a_photo_gone_from_storage_is_left_out_and_the_caption_still_answered(
    widget, customer_session, llm, caplog
):
    _, token = customer_session
    response = await database_sync_to_async(lambda: upload(Client(), token=token, data=photo_bytes()))()
    attachment = response.json()["attachment"]
    stored = await database_sync_to_async(lambda: Attachment.objects.get(public_id=attachment["id"]))()
    attachments.attachment_storage().delete(stored.stored_name)  # lost with a data folder, or deleted from the bucket

    caption = "The seam tore after a week"
    await widget.send_json_to({"type": "message", "text": caption, "client_id": "p-1", "attachment": attachment["id"]})
    frames = await frames_until(widget, is_answer)

    assert frames[-1]["text"] == "The quick brown fox jumps over the lazy dog."
    assert len(llm.requests) == 1
    assert llm.requests[0].body["messages"][-1] == {"role": "user", "content": caption}
    assert "image_url" not in json.dumps(llm.requests[0].body)
    assert f"photo {attachment['id']} of message" in caplog.text and "missing from storage" in caplog.text


@pytest_socket
async def test_without_a_model_the_photo_goes_to_an_agent_with_a_note(widget, customer_session, settings, agent):
    settings.OPENAI_API_KEY = ""
    _, token = customer_session
    await send_photo(widget, token=token)
    frames = await frames_until(widget, is_handoff)

    note = next(f for f in frames if (f.get("data") or {}).get("event") == "image_needs_person")
    assert attachments.NO_MODEL_REASON in note["text"]
    await answers_settled()
    conversation = await database_sync_to_async(Conversation.objects.get)()
    assert conversation.status == Conversation.Status.WAITING
    assert not await database_sync_to_async(Message.objects.filter(role="assistant").exists)()
    # The queue card says why before the agent opens the chat.
    queue = await database_sync_to_async(console_queue)(agent_id=agent.pk)
    assert queue["waiting"][0]["handoff_reason"] == f"photo attached; {attachments.NO_MODEL_REASON}"


@pytest_socket
async def test_with_pro_disabled_the_photo_goes_to_an_agent_and_is_never_sent_upstream(widget, customer_session, llm):
    await database_sync_to_async(tier_disable)(name=TierName.PRO)
    _, token = customer_session
    await send_photo(widget, token=token)
    # The agent's briefing is summarised inline here (eager tasks): allow for it.
    frames = await frames_until(widget, is_handoff, timeout=20)
    await answers_settled()

    assert any(attachments.PRO_DISABLED_REASON in f["text"] for f in frames if f["type"] == "message")
    assert not await database_sync_to_async(Message.objects.filter(role="assistant").exists)()
    answers = [
        r.body
        for r in llm.requests
        if r.body and r.body["messages"][0]["content"].startswith("You are the customer-support")
    ]
    assert answers == []
    assert "image_url" not in str([r.body for r in llm.requests])


@pytest_socket
async def test_a_photo_is_sent_once_and_only_in_its_own_conversation(widget, customer_session, llm):
    _, token = customer_session
    attachment = await send_photo(widget, token=token)
    await frames_until(widget, is_answer)
    await widget.send_json_to({"type": "message", "text": "again", "client_id": "p-2", "attachment": attachment["id"]})
    assert (await frames_until(widget, lambda f: f["type"] == "error"))[-1]["code"] == "attachment_used"

    _, other_token = await database_sync_to_async(conversation_open)(origin=ALLOWED_ORIGIN)
    foreign = await database_sync_to_async(lambda: upload(Client(), token=other_token, data=photo_bytes()))()
    foreign_id = foreign.json()["attachment"]["id"]
    await widget.send_json_to({"type": "message", "text": "x", "client_id": "p-3", "attachment": foreign_id})
    assert (await frames_until(widget, lambda f: f["type"] == "error"))[-1]["code"] == "unknown_attachment"


# --- long context ---------------------------------------------------------------------------


def test_a_conversation_longer_than_the_thinking_window_goes_to_pro(db):
    thinking_window = tier_catalogue()[TierName.THINKING].context_window
    # About four characters a token: history worth ~1.2x the Thinking window, well inside Pro's.
    turn = "My liftbase remote stopped working and the motor hums. " * 20
    history = [
        HistoryItem(role="customer" if i % 2 == 0 else "assistant", text=turn)
        for i in range(thinking_window * 48 // 10 // len(turn))
    ]
    plan = answer_plan_make(question="What should I try next?", history=history, conversation_spent=Decimal(0))
    assert plan.decision.tier == TierName.PRO
    assert "context_overflow" in plan.decision.signals
