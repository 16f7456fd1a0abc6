from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from conversations import identity, ratelimit, services


def _cors_origin(request: HttpRequest) -> str | None:
    """The request's Origin if it is one of the shop's sites (the websocket uses the same list)."""
    origin = request.headers.get("Origin", "").rstrip("/")
    return origin if origin in settings.SUPPORTBOT_ALLOWED_ORIGINS else None


def _with_cors(response: HttpResponse, origin: str) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = "600"
    response["Vary"] = "Origin"
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt  # no cookie is read or set here: the visitor token is the only credential
@require_http_methods(["POST", "OPTIONS"])
def widget_session(request: HttpRequest) -> HttpResponse:
    """Open a conversation for a widget visitor and hand back the token that opens it (docs/protocol.md)."""
    origin = _cors_origin(request)
    if origin is None:
        response = JsonResponse(
            {"error": "origin_not_allowed", "message": "This site may not open chat sessions."}, status=403
        )
        response["Vary"] = "Origin"
        return response
    if request.method == "OPTIONS":
        return _with_cors(HttpResponse(status=204), origin)
    try:
        wanted = _session_request(request)
    except RequestDataTooBig:
        too_large = {"error": "request_too_large", "message": "The session request is too large."}
        return _with_cors(JsonResponse(too_large, status=413), origin)
    try:
        ratelimit.session_open_hit(request=request)
    except ratelimit.RateLimited as limited:
        refusal = {
            "error": "rate_limited",
            "message": "Too many chats opened from your network; please try again later.",
        }
        refused = _with_cors(JsonResponse(refusal, status=429), origin)
        refused["Retry-After"] = str(limited.retry_after_s)
        return refused
    claimed = wanted.get("identity")
    verified = identity.identity_verify(claimed=claimed, secret=settings.SUPPORTBOT_IDENTITY_SECRET, origin=origin)
    customer = identity.customer_identify(identity=verified) if verified else None
    conversation, token = services.conversation_open(origin=origin, customer_id=customer.pk if customer else None)
    body: dict[str, object] = {
        "token": token,
        "conversation_id": conversation.public_id,
        "websocket_url": request.build_absolute_uri("/ws/widget/").replace("http", "ws", 1),
        "max_message_chars": settings.SUPPORTBOT_MAX_MESSAGE_CHARS,
        "identity": "verified" if verified else ("ignored" if claimed is not None else "none"),
    }
    return _with_cors(JsonResponse(body, status=201), origin)


def _session_request(request: HttpRequest) -> dict[str, Any]:
    """The session request's JSON object; anything else (an empty or older client's body) is {}.

    A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` raises ``RequestDataTooBig``."""
    try:
        payload = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than Python recurses
        return {}
    return payload if isinstance(payload, dict) else {}


def demo_shop(request: HttpRequest) -> HttpResponse:
    """A fictional shop's home page with the widget embedded by its one script tag."""
    return render(
        request, "demo/shop.html", {"public_url": settings.SUPPORTBOT_PUBLIC_URL, "shop": settings.SUPPORTBOT_SHOP_NAME}
    )
