"""Request body limit, answered in problem+json like every other error.

FastAPI's own `max_body_size` answers a body the route does not read with a text/plain 413,
sent from outside the app's middleware (no request id, no security headers); this one sits
inside them. A declared Content-Length over the limit is refused before the app runs; a
chunked body is counted as it is read, and the route's read fails with the same 413.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from {{ cookiecutter.package_name }}.api.errors import problem


class BodyTooLargeError(HTTPException):
    """Raised from `receive` once a chunked body passes the limit; the 413 handler answers."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body exceeds {limit} bytes.")


class BodyLimitMiddleware:
    """Plain ASGI: 413 problem+json for bodies over `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length once; count only bodies of unknown length."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"transfer-encoding":
                chunked = True
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            detail = f"The request body exceeds {self.max_bytes} bytes."
            await problem(Request(scope), 413, detail)(scope, receive, send)
            return
        if not chunked:  # the server enforces a declared length; no body otherwise
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLargeError(limit)
            return message

        await self.app(scope, counted, send)
