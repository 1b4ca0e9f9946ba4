"""RFC 9457 problem details for every error, so clients parse one error shape."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException

from {{ cookiecutter.package_name }}.errors import (
    ConflictError,
    DomainError,
    InvalidInputError,
    NotFoundError,
)

PROBLEM_JSON = "application/problem+json"
logger = structlog.get_logger(__name__)

_DOMAIN_STATUS: dict[type[DomainError], int] = {
    NotFoundError: 404,
    ConflictError: 409,
    InvalidInputError: 400,
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
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for this type only
    detail = exc.detail if exc.detail != HTTPStatus(exc.status_code).phrase else None
    return problem(request, exc.status_code, detail, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this type only
    # Echo location and reason, never the input: it may hold secrets or be huge.
    errors = [
        {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]
    return problem(request, 422, "The request is not valid.", errors=errors)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    status = next((code for kind, code in _DOMAIN_STATUS.items() if isinstance(exc, kind)), 400)
    return problem(request, status, str(exc))


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database unavailable", error=type(exc).__name__)
    return problem(
        request, 503, "The database is unavailable; retry later.", headers={"Retry-After": "5"}
    )


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    logger.error("unhandled error", exc_info=exc)
    return problem(request, 500, "An unexpected error occurred.")


def install_error_handlers(app: FastAPI) -> None:
    """Register problem+json handlers for HTTP, validation, domain, database and other errors."""
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DomainError, _domain_error)
    for kind in (OperationalError, DBAPIError, PoolTimeoutError, ConnectionError, TimeoutError):
        app.add_exception_handler(kind, _database_unavailable)
    app.add_exception_handler(Exception, _unhandled)
