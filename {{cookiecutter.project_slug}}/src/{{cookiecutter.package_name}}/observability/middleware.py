"""Plain ASGI middleware (no BaseHTTPMiddleware: it buffers and costs a task per request)."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from fastapi import FastAPI
from starlette.routing import compile_path
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


class RouteTemplates:
    """Map a request path to its route template (e.g. /api/v2/items/{item_id}).

    Written by hand because FastAPI exposes no public full template for routes of included
    routers; the OpenAPI document has them all, so they are compiled once from it.
    """

    def __init__(self) -> None:
        self._compiled: list[tuple[re.Pattern[str], str]] | None = None

    def __call__(self, scope: Scope) -> str:
        """Template of the first matching route, or "unmatched" (never the raw path)."""
        if self._compiled is None:
            self._compiled = self._compile(scope["app"])
        path: str = scope["path"]
        for pattern, template in self._compiled:
            if pattern.fullmatch(path):
                return template
        return "unmatched"

    @staticmethod
    def _compile(app: FastAPI) -> list[tuple[re.Pattern[str], str]]:
        templates = [*app.openapi()["paths"], *(getattr(r, "path", "") for r in app.routes)]
        # Literal segments before parameters, so /items/search wins over /items/{item_id}.
        ordered = sorted({t for t in templates if t}, key=lambda t: (t.count("{"), -len(t)))
        return [(compile_path(t)[0], t) for t in ordered]


class RequestContextMiddleware:
    """Request id, access log line, RED metrics and security headers for every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.route_template = RouteTemplates()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap `send` to see the status and add headers; observe once the response ended."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self._request_id(scope)
        method: str = scope["method"]
        status = 500
        start = time.perf_counter()
        add_csp = not scope["path"].startswith(DOCS_PATHS)

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.setdefault("headers", [])
                headers.append((b"x-request-id", request_id.encode()))
                headers.extend(SECURITY_HEADERS)
                if add_csp:
                    headers.append(API_CSP)
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        active = ACTIVE_REQUESTS.labels(method)
        active.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            active.dec()
            duration = time.perf_counter() - start
            route = self.route_template(scope)
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
        """Keep a caller's well-formed X-Request-ID so traces join up; otherwise make one."""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate: str = value.decode("latin-1")
                if _REQUEST_ID.fullmatch(candidate):
                    return candidate
        return uuid.uuid4().hex
