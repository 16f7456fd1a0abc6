"""Live metrics at ``/metrics``, in the Prometheus text format, for staff or a bearer token.

The exposition is written by ``prometheus_client`` from collectors that read their figures at
scrape time (``reporting/collectors.py``): the database's records, the breakers' public state,
open sockets, the Celery queues and the channel layer's groups, which are the deployment's
whichever process answers; and this process's own CPU, memory, file descriptors and garbage
collector (``process_*``, ``python_*``), which are the answering process's only.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from reporting.collectors import BreakerCollector, QueuesCollector, RecordsCollector, SocketsCollector

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Staff (session) or ``Authorization: Bearer <SUPPORTBOT_METRICS_TOKEN>``; everyone else is refused."""
    if not _metrics_allowed(request):
        response = HttpResponse("Authentication required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics_exposition(), content_type=CONTENT_TYPE)


def _metrics_allowed(request: HttpRequest) -> bool:
    user = request.user
    if user.is_authenticated and user.is_active and user.is_staff:
        return True
    expected = settings.SUPPORTBOT_METRICS_TOKEN
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(token.strip(), expected)


def metrics_registry() -> CollectorRegistry:
    """Every collector /metrics serves, in a registry of its own (not the library's global one,
    which a test or a library could add to as a side effect)."""
    # Nothing is registered twice or counted in between scrapes, so one registry per scrape costs
    # only its construction; auto_describe=False keeps registration from calling collect().
    registry = CollectorRegistry(auto_describe=False)
    for collector in (RecordsCollector(), BreakerCollector(), SocketsCollector(), QueuesCollector()):
        registry.register(collector)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def metrics_exposition() -> bytes:
    """Every metric, in the Prometheus text format (version 0.0.4)."""
    return generate_latest(metrics_registry())
