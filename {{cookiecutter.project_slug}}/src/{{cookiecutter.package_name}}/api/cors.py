"""CORS for browser clients of the configured origins (CORS_ORIGINS); others get no CORS field.

Starlette's middleware answers a preflight from any origin with its allowed methods and headers
(only `Access-Control-Allow-Origin` is withheld); here a preflight from an origin not listed
gets a 400 problem+json with no CORS field at all, so nothing about the API is advertised to it.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from {{ cookiecutter.package_name }}.api.errors import problem

# What the API's operations use and answer with, as a browser must be told.
ALLOW_METHODS = ("GET", "HEAD", "POST", "PATCH", "DELETE")
ALLOW_HEADERS = (
    "Authorization", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key", "X-Request-ID",
)  # fmt: skip
EXPOSE_HEADERS = (
    "ETag", "Location", "Idempotent-Replayed", "Retry-After", "RateLimit", "RateLimit-Policy",
    "Deprecation", "Sunset", "Link", "X-Request-ID",
)  # fmt: skip


class OriginCORS(CORSMiddleware):
    """Starlette's CORS, except that a preflight from an unlisted origin learns nothing."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a foreign preflight here; the rest is Starlette's."""
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            preflight = "access-control-request-method" in headers
            if origin is not None and preflight and not self.is_allowed_origin(origin):
                detail = "This origin may not call the API from a browser."
                await problem(Request(scope), 400, detail)(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def add_cors(app: FastAPI, origins: Sequence[str]) -> None:
    """CORS for `origins`; none (the default): no CORS layer at all."""
    if origins:
        app.add_middleware(
            OriginCORS,
            allow_origins=list(origins),
            allow_methods=list(ALLOW_METHODS),
            allow_headers=list(ALLOW_HEADERS),
            expose_headers=list(EXPOSE_HEADERS),
        )
