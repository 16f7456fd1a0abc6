"""Static files served by the ASGI app itself (``SUPPORTBOT_SERVE_STATIC``), with no path escaping the folder."""

from __future__ import annotations

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, Http404, HttpRequest, HttpResponse


class StaticFilesHandler(ASGIStaticFilesHandler):
    def serve(self, request: HttpRequest) -> HttpResponse | FileResponse:
        try:
            return super().serve(request)
        except SuspiciousFileOperation:
            # "/static/..%2f..%2fmanage.py": Django refuses to leave the folder, with an exception
            # that would otherwise become a 500 and a traceback in the log. It is simply not here.
            raise Http404("No such file.") from None
