"""Customer photos: checked by their bytes, shrunk, stripped of metadata, kept in the attachments storage.

A photo is uploaded over HTTP first (``POST /api/widget/attachments``, visitor token in the
``Authorization`` header) and then sent in a ``message`` frame that names it, so a photo and its
caption are one customer message with a seq like any other. The bot answers it on the first
enabled multimodal tier (Pro); when no model can look at it, a person is brought in with a note.

Photos live in Django's ``attachments`` storage (``STORAGES`` in settings): files in the data
folder by default, or a bucket on an S3-compatible store that every process shares. Either way
nothing serves them by URL; ``attachment_views`` reads the bytes after checking who asks.
"""

from __future__ import annotations

import base64
import logging
import secrets
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.utils.translation import gettext_noop
from PIL import Image, ImageOps, UnidentifiedImageError

from conversations import services
from conversations.models import Attachment, Conversation, Message

logger = logging.getLogger(__name__)

# Refused before decoding; a phone photo is 2-6 MB.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# What is kept (and sent to the model as base64) is shrunk below this.
MAX_STORED_BYTES = 1_500_000
# Longest side kept: enough for a torn seam or an error code on a screen, and far fewer image tokens.
MAX_SIDE_PX = 2048
# A small file can decode to gigabytes ("decompression bomb"): refuse anything larger than this.
MAX_PIXELS = 40_000_000
MAX_ATTACHMENTS_PER_CONVERSATION = 20

PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
PHOTO_TEXT = "(photo)"
# Said to the agent as the handoff's reason, and to the customer inside IMAGE_NOTE_TEXT.
NO_MODEL_REASON = gettext_noop("no image-capable model is configured")
PRO_DISABLED_REASON = gettext_noop("no enabled tier can read images (Pro is disabled)")
IMAGE_NOTE_TEXT = gettext_noop(
    "Our assistant can't look at photos right now ({reason}), so a person from our team will take a look."
)


class AttachmentRefused(Exception):
    """An upload or a reference to one that is not accepted; ``code`` goes to the client."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CleanImage:
    content_type: str
    data: bytes
    width: int
    height: int


def image_type_sniff(*, data: bytes) -> str | None:
    """The image type by its magic number, never by its name or the client's Content-Type."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def image_clean(*, data: bytes) -> CleanImage:
    """Decode, upright, shrink and re-encode a photo; what comes out carries no EXIF, GPS or XMP."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise AttachmentRefused("too_large", f"Photos are limited to {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    content_type = image_type_sniff(data=data)
    if content_type is None:
        raise AttachmentRefused("unsupported_type", "Please send a JPEG, PNG or WebP photo.")
    image = _image_decode(data=data, content_type=content_type)
    image.thumbnail((MAX_SIDE_PX, MAX_SIDE_PX), Image.Resampling.LANCZOS)
    encoded = _image_encode(image, content_type=content_type)
    while len(encoded) > MAX_STORED_BYTES and max(image.size) > 256:
        image = image.resize((max(1, image.width // 2), max(1, image.height // 2)), Image.Resampling.LANCZOS)
        encoded = _image_encode(image, content_type=content_type)
    return CleanImage(content_type=content_type, data=encoded, width=image.width, height=image.height)


def _image_decode(*, data: bytes, content_type: str) -> Image.Image:
    try:
        with Image.open(BytesIO(data), formats=[PIL_FORMATS[content_type]]) as opened:
            if opened.width * opened.height > MAX_PIXELS:
                raise AttachmentRefused("too_many_pixels", "This photo is too large to process.")
            opened.load()
            # Orientation lives in the EXIF we are about to drop: apply it to the pixels first.
            image = ImageOps.exif_transpose(opened)
    except AttachmentRefused:
        raise
    except Image.DecompressionBombError:  # so many pixels that the decoder refuses to open it at all
        raise AttachmentRefused("too_many_pixels", "This photo is too large to process.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise AttachmentRefused("not_an_image", "This file could not be read as a photo.") from None
    image.info = {}  # EXIF, XMP, ICC and text chunks would otherwise be written back out
    return image


def _image_encode(image: Image.Image, *, content_type: str) -> bytes:
    out = BytesIO()
    if content_type == "image/jpeg":
        image.convert("RGB").save(out, format="JPEG", quality=85, optimize=True)
    elif content_type == "image/png":
        image.save(out, format="PNG", optimize=True)
    else:
        image.convert("RGBA" if "A" in image.getbands() else "RGB").save(out, format="WEBP", quality=85)
    return out.getvalue()


# --- storage --------------------------------------------------------------------------------


def attachment_storage() -> Storage:
    """The storage named ``attachments`` in settings (local files or an S3-compatible bucket)."""
    return storages["attachments"]


def attachment_store(*, conversation_id: int, data: bytes) -> Attachment:
    """Validate and keep an uploaded photo for the conversation; raises AttachmentRefused."""
    status = Conversation.objects.values_list("status", flat=True).get(pk=conversation_id)
    if status == Conversation.Status.CLOSED:
        raise AttachmentRefused("conversation_closed", "This conversation is closed.")
    if Attachment.objects.filter(conversation_id=conversation_id).count() >= MAX_ATTACHMENTS_PER_CONVERSATION:
        raise AttachmentRefused("too_many_attachments", "This conversation has reached its limit of photos.")
    clean = image_clean(data=data)
    # The row is written only once the photo is wholly stored, so no reader finds half a file.
    stored_name = attachment_storage().save(
        secrets.token_hex(16) + EXTENSIONS[clean.content_type], ContentFile(clean.data)
    )
    return Attachment.objects.create(
        conversation_id=conversation_id,
        content_type=clean.content_type,
        stored_name=stored_name,
        size=len(clean.data),
        width=clean.width,
        height=clean.height,
    )


def attachment_read(*, attachment: Attachment) -> bytes:
    """The stored photo's bytes; FileNotFoundError when the storage no longer has it."""
    with attachment_storage().open(attachment.stored_name, "rb") as stored:
        return stored.read()


def attachment_view(attachment: Attachment) -> dict[str, Any]:
    """What a message frame says about its photo (the bytes are fetched from the attachment URL)."""
    return {
        "id": attachment.public_id,
        "content_type": attachment.content_type,
        "width": attachment.width,
        "height": attachment.height,
        "url": f"/api/widget/attachments/{attachment.public_id}",
    }


def attachment_message_take(
    *, conversation_id: int, attachment_public_id: str, text: str, client_id: str
) -> tuple[Message, bool]:
    """Store the customer message that sends an uploaded photo; (message, created).

    A re-send with the same ``client_id`` returns the stored message; a photo already sent
    in another message, or uploaded to another conversation, is refused.
    """
    if client_id:
        existing = Message.objects.filter(conversation_id=conversation_id, client_id=client_id).first()
        if existing is not None:
            return existing, False
    with transaction.atomic():
        attachment = (
            Attachment.objects.select_for_update()
            .filter(conversation_id=conversation_id, public_id=attachment_public_id)
            .first()
        )
        if attachment is None:
            raise AttachmentRefused("unknown_attachment", "Upload the photo first, then send it.")
        if attachment.message_id is not None:
            raise AttachmentRefused("attachment_used", "This photo was already sent.")
        message, created = services.message_record(
            conversation_id=conversation_id,
            role=Message.Role.CUSTOMER,
            text=text or PHOTO_TEXT,
            client_id=client_id,
            data={"attachment": attachment_view(attachment)},
        )
        if created:
            Attachment.objects.filter(pk=attachment.pk).update(message=message)
    return message, created


def attachment_for_visitor(*, conversation_id: int, public_id: str) -> Attachment | None:
    return Attachment.objects.filter(conversation_id=conversation_id, public_id=public_id).first()


def attachment_for_staff(*, public_id: str) -> Attachment | None:
    return Attachment.objects.filter(public_id=public_id).first()


def message_image_data_url(*, message: Message) -> str | None:
    """The message's photo as a base64 data URL for a Chat Completions ``image_url`` part, if it has one."""
    reference = (message.data or {}).get("attachment")
    if not reference:
        return None
    attachment = Attachment.objects.filter(public_id=reference["id"], conversation_id=message.conversation_id).first()
    if attachment is None:
        return None
    try:
        data = attachment_read(attachment=attachment)
    except FileNotFoundError:
        logger.warning(
            "photo %s of message %s is missing from storage; answering without it", reference["id"], message.pk
        )
        return None
    except Exception:
        # The store is down, refuses us or times out (boto3 raises its own exception classes):
        # the customer still gets an answer from the caption rather than none at all.
        logger.exception("photo %s of message %s could not be read; answering without it", reference["id"], message.pk)
        return None
    encoded = base64.b64encode(data).decode("ascii")
    return f"data:{attachment.content_type};base64,{encoded}"


def message_has_image(*, message: Message) -> bool:
    return bool((message.data or {}).get("attachment"))
