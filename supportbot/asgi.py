"""ASGI entry point: HTTP through Django, websockets through the origin check and the consumers."""

from __future__ import annotations

import gc
import os
import sys
from typing import Any

from django.core.asgi import get_asgi_application

# Tokens stream on the event loop while ORM work runs in a worker thread. With CPython's default
# 5 ms GIL switch interval the loop can wait that long for the GIL on every wake-up, which stretched
# first tokens and token gaps under load (docs/benchmarks.md, "End to end"); 0.5 ms keeps it responsive.
sys.setswitchinterval(0.0005)
# The collector's pauses stall every stream at once. Each token allocates a few short-lived
# containers: at the default threshold (700), a 200-conversation run collected generation 0
# about 30 times a second and generation 1 (5 to 30 ms each under load) about 3 times a second;
# at 10,000 both run 14 times less often. The bench_e2e gap-stretch p99 at N = 200 went from
# 11.8-12.4 ms to 9.7-10.2 ms in alternating runs. Database connections no longer wait for the
# collector (they are pooled).
gc.set_threshold(10_000, 10, 10)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportbot.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from conversations.ws_urls import websocket_urlpatterns  # noqa: E402
from supportbot.security import StrictOriginValidator  # noqa: E402
from supportbot.static import StaticFilesHandler  # noqa: E402


def build_application() -> ProtocolTypeRouter:
    http_app = StaticFilesHandler(django_asgi_app) if settings.SUPPORTBOT_SERVE_STATIC else django_asgi_app
    return ProtocolTypeRouter(
        {
            "http": http_app,
            "websocket": StrictOriginValidator(URLRouter(websocket_urlpatterns), settings.SUPPORTBOT_ALLOWED_ORIGINS),
        }
    )


application: Any = build_application()

if settings.SUPPORTBOT_WARM_UP:
    from supportbot.warmup import WarmUpMiddleware, warm_up_start

    warm_up_start()
    application = WarmUpMiddleware(application)
