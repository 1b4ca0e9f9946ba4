"""Prometheus RED metrics with OpenTelemetry's stable HTTP names and labels."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

# Boundaries include 0.3 s, the latency SLO threshold, so the SLO is computed exactly.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)

REQUEST_DURATION = Histogram(
    "http_server_request_duration_seconds",
    "Duration of HTTP server requests.",
    ("http_request_method", "http_route", "http_response_status_code"),
    buckets=LATENCY_BUCKETS,
)
ACTIVE_REQUESTS = Gauge(
    "http_server_active_requests",
    "Number of HTTP server requests in flight.",
    ("http_request_method",),
)


async def metrics_endpoint(_request: Request) -> Response:
    """Prometheus text exposition of the process registry."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
