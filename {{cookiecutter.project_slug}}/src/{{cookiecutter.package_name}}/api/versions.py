"""What every API version shares: how its routes are added, and v1's deprecation notice.

v1 is deprecated (RFC 9745 `Deprecation`, RFC 8594 `Sunset`, a successor `Link`); v2 is
current. Each version's module lists its routes (`ROUTES`); `add_version` adds them to the app.
The notice is added by `DeprecationNotice`, a plain ASGI layer, so that every v1 response has
it: successes, problems answered by handlers or middleware (404, 405, 413, 422...) alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from email.utils import format_datetime
from enum import Enum
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request, Response, Security
from fastapi.datastructures import Default
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from {{ cookiecutter.package_name }}.api.responses import (
    BAD_REQUEST,
    FORBIDDEN,
    UNAUTHORIZED,
    documented_responses,
)
from {{ cookiecutter.package_name }}.api.security import Authorize
from {{ cookiecutter.package_name }}.errors import InvalidInputError

NO_CONTENT = 204
DEFAULT_RESPONSE_CLASS = Default(JSONResponse)  # what add_api_route uses when given none
DEFAULT_RESPONSE_MODEL = Default(None)  # add_api_route's default: the endpoint's annotation

DEPRECATED_PREFIX = "/api/v1"
SUCCESSOR_PREFIX = "/api/v2"
# Characters a URI path keeps as they are (RFC 3986 pchar and "/"); the rest is %-encoded.
PATH_SAFE = "/:@!$&'()*+,;=-._~"


# Where the notice waits in the scope for the 500 handler, which answers outside this layer.
SCOPE_KEY = "deprecation_notice"


@dataclass(frozen=True, slots=True)
class Route:
    """One operation of a version, as its router lists it (`ROUTES`)."""

    path: str
    method: str
    scope: str  # the OAuth2 scope a caller's token must grant (items/scopes.py)
    endpoint: Callable[..., Any]
    status_code: int
    # The error statuses of this operation besides those every one has (documented_responses).
    errors: tuple[int, ...] = ()
    # For an endpoint that returns its own `Response`: the body it documents (the annotation's
    # otherwise). The headers of its success response (an item's `ETag`, a 201's `Location`),
    # and its other non-error responses (a 304).
    response_model: Any = None
    headers: Mapping[str, Any] | None = None
    others: Mapping[int, dict[str, Any]] | None = None


def is_deprecated(path: str) -> bool:
    """Whether a request path belongs to v1 (`/api/v1` or below it, not `/api/v10`)."""
    return path.startswith(DEPRECATED_PREFIX) and path[len(DEPRECATED_PREFIX) :][:1] in {"", "/"}


def pending_notice(scope: Scope) -> dict[str, str]:
    """The notice of a v1 request, for a response sent from outside `DeprecationNotice`."""
    notice: list[tuple[bytes, bytes]] = scope.get(SCOPE_KEY, [])
    return {name.decode(): value.decode() for name, value in notice}


class DeprecationNotice:
    """Plain ASGI: adds v1's notice to every v1 response; other paths pay one prefix test."""

    def __init__(self, app: ASGIApp, deprecated_on: date, sunset_on: date) -> None:
        self.app = app
        deprecated = datetime.combine(deprecated_on, time(), UTC)
        sunset = datetime.combine(sunset_on, time(), UTC)
        # Formatted once rather than on every request.
        self.dates = [
            (b"deprecation", f"@{int(deprecated.timestamp())}".encode()),
            (b"sunset", format_datetime(sunset, usegmt=True).encode()),
        ]

    def headers(self, path: str) -> list[tuple[bytes, bytes]]:
        """The notice for one path; its successor is the same resource in v2."""
        successor = quote(SUCCESSOR_PREFIX + path[len(DEPRECATED_PREFIX) :], safe=PATH_SAFE)
        return [*self.dates, (b"link", f'<{successor}>; rel="successor-version"'.encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass other paths straight through; wrap `send` for v1 ones."""
        if scope["type"] != "http" or not is_deprecated(scope["path"]):
            await self.app(scope, receive, send)
            return
        notice = scope[SCOPE_KEY] = self.headers(scope["path"])

        async def send_with_notice(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).extend(notice)
            await send(message)

        await self.app(scope, receive, send_with_notice)


class KnownQueryParameters:
    """Refuses a query parameter its operation does not declare: a 400 naming it.

    Ignored, a misspelt `price_max` or `sort` would answer a different list than the client
    asked for, and look right. The names are the operation's own and its dependencies'.
    """

    __slots__ = ("names",)
    SHOWN = 5  # names quoted in the problem, each cut to 64 characters: the rest is input

    def __init__(self) -> None:
        self.names: frozenset[str] = frozenset()

    def learn(self, route: APIRoute) -> None:
        """Take the declared query parameters of the route this checks."""
        self.names = frozenset(query_parameters(route.dependant))

    async def __call__(self, request: Request) -> None:
        """Pass a request whose query parameters are all declared."""
        unknown = sorted(set(request.query_params) - self.names)
        if unknown:
            shown = ", ".join(name[:64] for name in unknown[: self.SHOWN])
            more = f" and {len(unknown) - self.SHOWN} more" if len(unknown) > self.SHOWN else ""
            raise InvalidInputError(f"unknown query parameter: {shown}{more}")


def query_parameters(dependant: Dependant) -> Iterator[str]:
    """The query parameter names a dependant and its dependencies read, by their alias."""
    yield from (field.alias for field in dependant.query_params)
    for dependency in dependant.dependencies:
        yield from query_parameters(dependency)


def add_version(
    app: FastAPI,
    routes: Sequence[Route],
    tag: str,
    *,
    authorize: Authorize,
    deprecated: bool = False,
) -> None:
    """Add one version's routes to the app itself (`app.py` says why not through a router).

    Each runs `authorize` with its scope first (api/security.py), and documents 401 and 403.
    A current version's routes then refuse undeclared query parameters (400); a deprecated
    one's keep ignoring them, as its clients were promised when it was current.
    """
    tags: list[str | Enum] = [tag]
    for route in routes:
        errors = (*route.errors, UNAUTHORIZED, FORBIDDEN)
        dependencies = [Security(authorize, scopes=[route.scope])]
        known = KnownQueryParameters()
        if not deprecated:
            errors = (*errors, BAD_REQUEST)
            dependencies.append(Depends(known))
        app.add_api_route(
            route.path,
            route.endpoint,
            methods=[route.method],
            status_code=route.status_code,
            # A 204 has no body, so no Content-Type either (JSONResponse would set one).
            response_class=Response if route.status_code == NO_CONTENT else DEFAULT_RESPONSE_CLASS,
            tags=tags,
            deprecated=deprecated,
            dependencies=dependencies,
            responses=documented_responses(
                route.status_code,
                errors,
                deprecated=deprecated,
                headers=route.headers,
                others=route.others,
            ),
            response_model=route.response_model or DEFAULT_RESPONSE_MODEL,
        )
        added = app.router.routes[-1]
        if isinstance(added, APIRoute):
            known.learn(added)


def add_head_routes(app: FastAPI) -> None:
    """HEAD wherever GET is (RFC 9110 requires it): a twin route, left out of the OpenAPI.

    Added after every other route, so GET requests never try them; the body is dropped in
    `api.limits`. FastAPI, unlike Starlette, does not add HEAD to GET routes itself.
    """
    for route in list(app.router.routes):
        if isinstance(route, APIRoute) and "GET" in (route.methods or ()):
            app.add_api_route(
                route.path,
                route.endpoint,
                methods=["HEAD"],
                status_code=route.status_code,
                dependencies=route.dependencies,
                response_class=route.response_class,
                include_in_schema=False,
                name=f"{route.name}_head",
            )
