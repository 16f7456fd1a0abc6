"""Photo upload and download for the widget (visitor token) and the console (staff session).

The visitor token travels only in the ``Authorization: Bearer`` header, never in a URL where
logs, history and referrers would keep it. Downloads are never cached and never sniffed.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from conversations import attachments, selectors
from conversations.models import Attachment, Conversation
from conversations.tokens import VisitorTokenInvalid
from conversations.views import _cors_origin

# Multipart framing around the file; a body larger than this is refused before it is parsed.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def _cors(response: HttpResponse, origin: str | None, *, methods: str) -> HttpResponse:
    if origin is not None:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = methods
        response["Access-Control-Allow-Headers"] = "Authorization"
        response["Access-Control-Max-Age"] = "600"
    response["Vary"] = "Origin, Authorization, Cookie"
    response["Cache-Control"] = "private, no-store"
    return response


def _refusal(code: str, message: str, *, status: int) -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)


def _visitor_conversation(request: HttpRequest) -> Conversation | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        return selectors.conversation_for_token(token=token.strip())
    except VisitorTokenInvalid:
        return None


@csrf_exempt  # no cookie is read: the bearer visitor token is the only credential
@require_http_methods(["POST", "OPTIONS"])
def attachment_upload(request: HttpRequest) -> HttpResponse:
    """Keep a photo for the visitor's conversation; the widget then sends it in a message frame."""
    origin = _cors_origin(request)
    methods = "POST, OPTIONS"
    if origin is None:
        # As for the session: only the shop's own sites may send photos (any other, null or none: 403).
        refused = _refusal("origin_not_allowed", "This site may not send photos to the chat.", status=403)
        return _cors(refused, origin, methods=methods)
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204), origin, methods=methods)
    conversation = _visitor_conversation(request)
    if conversation is None:
        return _cors(
            _refusal("unauthorized", "A valid visitor token is required.", status=401), origin, methods=methods
        )
    if int(request.headers.get("Content-Length") or 0) > attachments.MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES:
        return _cors(_refusal("too_large", "Photos are limited to 10 MB.", status=413), origin, methods=methods)
    upload = request.FILES.get("file")
    if upload is None:
        return _cors(
            _refusal("no_file", "Send the photo as the 'file' form field.", status=400), origin, methods=methods
        )
    try:
        attachment = attachments.attachment_store(
            conversation_id=conversation.pk, data=upload.read(attachments.MAX_UPLOAD_BYTES + 1)
        )
    except attachments.AttachmentRefused as refused:
        status = 413 if refused.code in {"too_large", "too_many_pixels"} else 400
        return _cors(_refusal(refused.code, refused.message, status=status), origin, methods=methods)
    body = {"attachment": attachments.attachment_view(attachment)}
    return _cors(JsonResponse(body, status=201), origin, methods=methods)


@csrf_exempt  # GET only; the visitor token or a staff session decides, never the URL
@require_http_methods(["GET", "OPTIONS"])
def attachment_download(request: HttpRequest, public_id: str) -> HttpResponse:
    """The photo's bytes, for the conversation's own visitor or for staff; 404 for anyone else."""
    origin = _cors_origin(request)
    methods = "GET, OPTIONS"
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204 if origin is not None else 403), origin, methods=methods)
    attachment = _attachment_allowed(request, public_id=public_id)
    if attachment is None:
        # The same answer whether the photo exists or not: ids cannot be probed.
        return _cors(_refusal("not_found", "No such photo.", status=404), origin, methods=methods)
    try:
        data = attachments.attachment_read(attachment=attachment)
    except FileNotFoundError:
        return _cors(_refusal("not_found", "No such photo.", status=404), origin, methods=methods)
    response = HttpResponse(data, content_type=attachment.content_type)
    response["Content-Disposition"] = f'inline; filename="photo{attachments.EXTENSIONS[attachment.content_type]}"'
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return _cors(response, origin, methods=methods)


def _attachment_allowed(request: HttpRequest, *, public_id: str) -> Attachment | None:
    conversation = _visitor_conversation(request)
    if conversation is not None:
        return attachments.attachment_for_visitor(conversation_id=conversation.pk, public_id=public_id)
    user = request.user
    if user.is_authenticated and user.is_active and user.is_staff:
        return attachments.attachment_for_staff(public_id=public_id)
    return None
