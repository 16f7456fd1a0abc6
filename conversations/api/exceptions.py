"""The API answers in JSON even where Django itself would refuse a request with an HTML page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` as a JSON 413 (not Django's HTML 400)."""
    if isinstance(exc, RequestDataTooBig):
        detail = f"The request body is too large: the API accepts at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        return Response({"detail": detail}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    return exception_handler(exc, context)
