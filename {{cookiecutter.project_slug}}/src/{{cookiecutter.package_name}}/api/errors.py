"""RFC 9457 problem details for every error, so clients parse one error shape.

503 is for a database the service cannot reach (refused, dropped, pool exhausted); any other
database error is our bug or unvalidated input: a 500, logged once.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import trace
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from {{ cookiecutter.package_name }}.api.conditional import NotModified, not_modified
from {{ cookiecutter.package_name }}.api.versions import pending_notice
from {{ cookiecutter.package_name }}.auth.tokens import (
    InsufficientScopeError,
    InvalidTokenError,
    MissingTokenError,
)
from {{ cookiecutter.package_name }}.errors import (
    ConflictError,
    DomainError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
    PreconditionRequiredError,
)

PROBLEM_JSON = "application/problem+json"
HTTP_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")
logger = structlog.get_logger(__name__)

_DOMAIN_STATUS: dict[type[DomainError], int] = {
    NotFoundError: 404,
    ConflictError: 409,
    InvalidInputError: 400,
    IdempotencyKeyReusedError: 422,
    PreconditionFailedError: 412,
    PreconditionRequiredError: 428,
}


def problem(
    request: Request,
    status: int,
    detail: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,  # noqa: ANN401 - RFC 9457 extension members are free-form JSON
) -> JSONResponse:
    """Build a problem+json response; `type` stays about:blank, so `title` is the status phrase."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "instance": request.url.path,
    }
    if detail:
        body["detail"] = detail
    body.update(extensions)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for this type only  # nosec B101
    detail = exc.detail if exc.detail != HTTPStatus(exc.status_code).phrase else None
    headers = dict(exc.headers or {})
    if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
    return problem(request, exc.status_code, detail, headers=headers)


def allowed_methods(request: Request) -> str:
    """Every method of the path (RFC 9110 `Allow`); Starlette names only the first route's."""
    routes = request.app.router.routes

    def serves(method: str) -> bool:
        scope = {**request.scope, "method": method}
        return any(route.matches(scope)[0] == Match.FULL for route in routes)

    return ", ".join(method for method in HTTP_METHODS if serves(method))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this type only  # nosec B101
    # Echo location and reason, never the input: it may hold secrets or be huge.
    errors = [
        {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]
    return problem(request, 422, "The request is not valid.", errors=errors)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    status = next((code for kind, code in _DOMAIN_STATUS.items() if isinstance(exc, kind)), 400)
    return problem(request, status, str(exc))


async def _invalid_token(request: Request, exc: Exception) -> JSONResponse:
    """401 with RFC 6750's challenge; a request with no token gets no error code (section 3.1)."""
    challenge = "Bearer"
    if not isinstance(exc, MissingTokenError):
        challenge = f'Bearer error="invalid_token", error_description="{exc}"'
    return problem(request, 401, str(exc), headers={"WWW-Authenticate": challenge})


async def _insufficient_scope(request: Request, exc: Exception) -> JSONResponse:
    """403 naming the scope the token lacks, in the challenge and the problem."""
    assert isinstance(exc, InsufficientScopeError)  # noqa: S101 - registered for this type only  # nosec B101
    challenge = f'Bearer error="insufficient_scope", scope="{exc.scope}"'
    return problem(request, 403, str(exc), headers={"WWW-Authenticate": challenge})


def is_unavailable(exc: Exception) -> bool:
    """Whether the database is out of reach rather than the request or our code at fault.

    PEP 249's operational and interface errors (refused, lost, server shutting down), a
    connection SQLAlchemy invalidated, an exhausted pool, a socket error.
    """
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    return isinstance(exc, PoolTimeoutError | OSError)  # OSError: ConnectionError, TimeoutError


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if not is_unavailable(exc):
        return server_error(request, exc)
    logger.warning("database unavailable", error=type(exc).__name__)
    return problem(
        request, 503, "The database is unavailable; retry later.", headers={"Retry-After": "5"}
    )


def server_error(request: Request, exc: BaseException) -> JSONResponse:
    """The one log line (with traceback and request id) and the 500 of an error nobody handled."""
    logger.error("unhandled error", exc_info=exc)
    trace.get_current_span().record_exception(exc)
    return problem(request, 500, "An unexpected error occurred.")


async def _outer_error(request: Request, _exc: Exception) -> JSONResponse:
    """A 500 for an error raised outside `ServerErrorProblems` (in another middleware).

    Starlette re-raises it after this response and the server logs it, so not logged here. It
    is sent from outside every middleware, so v1's notice is added here.
    """
    headers = pending_notice(request.scope)
    return problem(request, 500, "An unexpected error occurred.", headers=headers)


class ServerErrorProblems:
    """Plain ASGI, innermost: answers what no handler took with a 500 and does not re-raise it.

    Starlette's handler for `Exception` runs in its outermost middleware, which re-raises after
    answering so the server can log: every 500 was logged twice (ours, then uvicorn's).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass through; one `_Guarded` per HTTP request remembers whether the response began."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await _Guarded(self.app, send).run(scope, receive)


class _Guarded:
    """One request's state: whether its response started, after which no problem can be sent."""

    __slots__ = ("app", "send", "started")

    def __init__(self, app: ASGIApp, send: Send) -> None:
        self.app = app
        self.send = send
        self.started = False

    async def run(self, scope: Scope, receive: Receive) -> None:
        """On an error before the response started, send the problem instead."""
        try:
            await self.app(scope, receive, self.send_tracked)
        except Exception as exc:
            if self.started:  # too late for a problem: the server logs it and closes the connection
                raise
            await server_error(Request(scope), exc)(scope, receive, self.send)

    async def send_tracked(self, message: Message) -> None:
        """Note the response's start, then pass the message on."""
        self.started = self.started or message["type"] == "http.response.start"
        await self.send(message)


def install_error_handlers(app: FastAPI) -> None:
    """Register problem+json handlers for HTTP, validation, domain, database and other errors.

    Call before adding other middleware: `ServerErrorProblems` must be the innermost.
    """
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(NotModified, not_modified)
    app.add_exception_handler(InvalidTokenError, _invalid_token)
    app.add_exception_handler(InsufficientScopeError, _insufficient_scope)
    for kind in (DBAPIError, PoolTimeoutError, OSError):
        app.add_exception_handler(kind, _database_error)
    app.add_exception_handler(Exception, _outer_error)
    app.add_middleware(ServerErrorProblems)
