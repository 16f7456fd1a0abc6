"""Who may frame our pages (CSP ``frame-ancestors``).

The pages a shop shows to its visitors (the demo shop, the help centre the widget links to, the
widget's session endpoint) may be framed by the shop's own sites, ``SUPPORTBOT_ALLOWED_ORIGINS``.
Everything else, the agent console and the admin above all, refuses to be framed at all, so no
other site can overlay it and trick an agent into clicking.
"""

from __future__ import annotations

from urllib.parse import ParseResult

from channels.security.websocket import OriginValidator
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

FRAMABLE_PREFIXES = ("/help/", "/api/widget/")
FRAMABLE_PATHS = ("/",)


def page_framable(*, path: str) -> bool:
    return path in FRAMABLE_PATHS or path.startswith(FRAMABLE_PREFIXES)


def frame_ancestors(*, path: str) -> str:
    if not page_framable(path=path):
        return "frame-ancestors 'none'"
    return " ".join(["frame-ancestors 'self'", *settings.SUPPORTBOT_ALLOWED_ORIGINS])


class FrameAncestorsMiddleware(MiddlewareMixin):
    """Sets ``frame-ancestors`` on every response; listed after XFrameOptionsMiddleware in MIDDLEWARE.

    Being later in the list it sees the response first, so it can exempt the framable pages from
    ``X-Frame-Options: DENY`` (which cannot name several sites) and leave DENY on everything else.
    """

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if page_framable(path=request.path):
            response.xframe_options_exempt = True  # type: ignore[attr-defined]
        policy = frame_ancestors(path=request.path)
        existing = response.get("Content-Security-Policy")
        response["Content-Security-Policy"] = f"{existing}; {policy}" if existing else policy
        return response


class StrictOriginValidator(OriginValidator):
    """channels' OriginValidator, refusing (instead of crashing on) an origin with an unreadable port.

    ``http://127.0.0.1:8000.evil.example`` made ``urlparse(...).port`` raise ValueError inside the
    validator: the socket failed with a server error rather than a clean refusal.
    """

    def valid_origin(self, parsed_origin: ParseResult | None) -> bool:
        try:
            return super().valid_origin(parsed_origin)
        except ValueError:
            return False
