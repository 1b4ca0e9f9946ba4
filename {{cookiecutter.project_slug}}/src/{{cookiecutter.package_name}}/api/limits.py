"""Request bodies (size, media type) and HEAD, answered in problem+json like every other error.

A body must be `application/json` in UTF-8 (RFC 8259 allows no other charset), else 415 with
`Accept-Post`; FastAPI alone parses any `*/*+json` and a body with no type, and answers 422. A
PATCH body is a JSON Merge Patch (RFC 7396): `application/merge-patch+json`, else 415 with
`Accept-Patch` (RFC 5789), since plain JSON does not say how it applies to the resource. A
body of the wrong type on a path or method no route serves is left to routing: a 404 or 405.
A HEAD request is routed like GET (`api.versions.add_head_routes`); its body is dropped here.
GET pays for neither: both checks sit behind a method comparison.

FastAPI's own `max_body_size` answers a body the route does not read with a text/plain 413,
sent from outside the app's middleware (no request id, no security headers); this one sits
inside them. A declared Content-Length over the limit is refused before the app runs; a
chunked body is counted as it is read, and the route's read fails with the same 413.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from {{ cookiecutter.package_name }}.api.errors import problem

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
# The body's media type by method, and the header a 415 names it in.
MEDIA_TYPES = {"PATCH": (MERGE_PATCH, "Accept-Patch")}
DEFAULT_MEDIA_TYPE = (JSON, "Accept-Post")
UTF_8 = frozenset({"utf-8", "utf8"})


def is_json(content_type: bytes | None, json_type: str = JSON) -> bool:
    """`json_type`, case-insensitive, with no charset or UTF-8's; nothing else."""
    if content_type is None:
        return False
    media_type, *parameters = content_type.decode("latin-1").lower().split(";")
    if media_type.strip() != json_type:
        return False
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip() == "charset" and value.strip().strip('"') not in UTF_8:
            return False
    return True


def is_served(scope: Scope) -> bool:
    """Whether a route takes this method at this path; if none does, routing answers 405.

    Only a body of the wrong type pays for the lookup: a client's mistake, not the common case.
    """
    routes = scope["app"].router.routes
    return any(route.matches(scope)[0] is Match.FULL for route in routes)


class BodyTooLargeError(HTTPException):
    """Raised from `receive` once a chunked body passes the limit; the 413 handler answers."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body exceeds {limit} bytes.")


class BodyLimitMiddleware:
    """Plain ASGI: 413 for bodies over `max_bytes`, 415 for bodies not JSON; HEAD without body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length once; count only bodies of unknown length."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "HEAD":
            await self.app(scope, receive, _without_body(send))
            return
        declared: bytes | None = None
        content_type: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"content-type":
                content_type = value
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            detail = f"The request body exceeds {self.max_bytes} bytes."
            await problem(Request(scope), 413, detail)(scope, receive, send)
            return
        has_body = chunked or (declared is not None and declared not in (b"", b"0"))
        if has_body and scope["method"] in BODY_METHODS:
            json_type, accept = MEDIA_TYPES.get(scope["method"], DEFAULT_MEDIA_TYPE)
            if not is_json(content_type, json_type) and is_served(scope):
                detail = f"The request body must be {json_type} (UTF-8)."
                headers = {accept: json_type}
                await problem(Request(scope), 415, detail, headers=headers)(scope, receive, send)
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


def _without_body(send: Send) -> Send:
    """HEAD: the GET's status and headers (Content-Length included), no body (RFC 9110 9.3.2)."""

    async def send_headers_only(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return send_headers_only
