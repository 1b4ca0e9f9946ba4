"""Plain ASGI middleware (no BaseHTTPMiddleware: it buffers and costs a task per request)."""

from __future__ import annotations

import random
import re
import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from {{ cookiecutter.package_name }}.observability.metrics import ACTIVE_REQUESTS, REQUEST_DURATION

access_log = structlog.get_logger("access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
DOCS_PATHS = ("/docs", "/redoc")
UNMATCHED = "unmatched"  # the route label of requests no route matched, never the raw path


class RequestContextMiddleware:
    """Request id, access log line, RED metrics and security headers for every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap `send` to see the status and add headers; observe once the response ended."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self._request_id(scope)
        method: str = scope["method"]
        status = 500
        start = time.perf_counter()
        headers_added = [(b"x-request-id", request_id.encode()), *SECURITY_HEADERS]
        if not scope["path"].startswith(DOCS_PATHS):
            headers_added.append(API_CSP)

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).extend(headers_added)
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        active = ACTIVE_REQUESTS.labels(method)
        active.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            active.dec()
            duration = time.perf_counter() - start
            # The router leaves the matched route in the scope; its path is the template.
            route: str = getattr(scope.get("route"), "path", UNMATCHED)
            REQUEST_DURATION.labels(method, route, str(status)).observe(duration)
            access_log.info(
                "request",
                http_method=method,
                http_route=route,
                http_status=status,
                duration_ms=round(duration * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("request_id")

    @staticmethod
    def _request_id(scope: Scope) -> str:
        """Keep a caller's well-formed X-Request-ID so traces join up; otherwise make one.

        Ids need to be unique, not secret: 128 random bits without a system call (as the
        OpenTelemetry SDK makes trace ids), where uuid4 reads the OS entropy pool every time.
        """
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate: str = value.decode("latin-1")
                if _REQUEST_ID.fullmatch(candidate):
                    return candidate
        return f"{random.getrandbits(128):032x}"
