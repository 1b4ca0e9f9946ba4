"""Plain ASGI middleware (no BaseHTTPMiddleware: it buffers and costs a task per request)."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterable
from contextvars import Token

import structlog
from opentelemetry import context, propagate, trace
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer
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
Headers = Iterable[tuple[bytes, bytes]]


class _HeaderGetter(Getter[Headers]):
    """Reads W3C trace context (`traceparent`, `baggage`) straight from the ASGI headers."""

    def get(self, carrier: Headers, key: str) -> list[str] | None:
        name = key.lower().encode("latin-1")
        values = [value.decode("latin-1") for header, value in carrier if header == name]
        return values or None

    def keys(self, carrier: Headers) -> list[str]:
        return [header.decode("latin-1") for header, _ in carrier]


HEADER_GETTER = _HeaderGetter()


class RequestContextMiddleware:
    """Request id, server span, access log line, RED metrics and security headers.

    The server span is made here, not by FastAPI's telemetry or the contrib ASGI middleware:
    both build a dozen request attributes (and one a second routing pass) before the sampler
    runs, on every request; here an unsampled request costs one sampler call, and attributes
    are set only on spans that are recorded. `quiet` paths (probes, scrapes) get no span, and
    an access line only when they fail.
    """

    def __init__(
        self, app: ASGIApp, tracer: Tracer | None = None, quiet: frozenset[str] = frozenset()
    ) -> None:
        self.app = app
        self.tracer = tracer
        self.quiet = quiet

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

        quiet = scope["path"] in self.quiet
        span, token = (None, None) if quiet else self._start_span(scope, method)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        active = ACTIVE_REQUESTS.labels(method)
        active.inc()
        failure: BaseException | None = None
        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            active.dec()
            duration = time.perf_counter() - start
            # The router leaves the matched route in the scope; its path is the template.
            route: str = getattr(scope.get("route"), "path", UNMATCHED)
            REQUEST_DURATION.labels(method, route, str(status)).observe(duration)
            if span is not None:
                self._finish_span(span, scope, route, status, failure)
            if not quiet or status >= 400:  # noqa: PLR2004 - client and server errors
                access_log.info(
                    "request",
                    http_method=method,
                    http_route=route,
                    http_status=status,
                    duration_ms=round(duration * 1000, 2),
                )
            structlog.contextvars.unbind_contextvars("request_id")
            if span is not None and token is not None:
                span.end()
                context.detach(token)

    def _start_span(
        self, scope: Scope, method: str
    ) -> tuple[Span, Token[Context]] | tuple[None, None]:
        """A server span, child of the caller's trace context; current until the line is logged.

        An unsampled request also switches the client instrumentations off (SQLAlchemy,
        {% if cookiecutter.cache == "redis" %}Redis, {% endif %}httpx): every standard sampler drops the children of an unsampled span, yet
        each instrumented call built and ended one (measured: ~140 us per cache miss). The
        price: its outbound HTTP calls carry no `traceparent`, so the callee samples anew.
        """
        if self.tracer is None:
            return None, None
        parent = propagate.extract(scope["headers"], getter=HEADER_GETTER)
        span = self.tracer.start_span(method, parent, kind=SpanKind.SERVER)
        current = trace.set_span_in_context(span, parent)
        if not span.is_recording():
            current = context.set_value(_SUPPRESS_INSTRUMENTATION_KEY, value=True, context=current)
        return span, context.attach(current)

    @staticmethod
    def _finish_span(
        span: Span, scope: Scope, route: str, status: int, failure: BaseException | None
    ) -> None:
        """Name and stable HTTP semantic-convention attributes, on recorded spans only."""
        if not span.is_recording():
            return
        method = scope["method"]
        span.update_name(f"{method} {route}")
        span.set_attributes(
            {
                "http.request.method": method,
                "http.route": route,
                "http.response.status_code": status,
                "url.path": scope["path"],
                "url.scheme": scope.get("scheme", "http"),
                "network.protocol.version": scope.get("http_version", "1.1"),
            }
        )
        if failure is not None:
            span.record_exception(failure)
        if failure is not None or status >= 500:  # noqa: PLR2004 - server errors, by definition
            span.set_status(StatusCode.ERROR)

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
        # bandit's B311 is about secrets; a request id is an identifier.
        return f"{random.getrandbits(128):032x}"  # nosec B311
