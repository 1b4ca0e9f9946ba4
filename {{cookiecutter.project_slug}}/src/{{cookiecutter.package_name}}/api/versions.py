"""What every API version shares: its error responses, how its routes are added, v1's notice.

v1 is deprecated (RFC 9745 `Deprecation`, RFC 8594 `Sunset`, a successor `Link`); v2 is
current. Each version's module lists its routes (`ROUTES`); `add_version` adds them to the app.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from email.utils import format_datetime
from enum import Enum
from functools import cache
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.datastructures import Default
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

NO_CONTENT = 204
DEFAULT_RESPONSE_CLASS = Default(JSONResponse)  # what add_api_route uses when given none

# path, endpoint, HTTP method, success status
Route = tuple[str, Callable[..., Any], str, int]
PROBLEM: dict[str, object] = {"content": {"application/problem+json": {}}}
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    400: {"description": "Invalid input", **PROBLEM},
    404: {"description": "Not found", **PROBLEM},
    409: {"description": "Conflict", **PROBLEM},
    422: {"description": "Validation error", **PROBLEM},
    503: {"description": "Dependency unavailable", **PROBLEM},
}


@cache
def deprecation_notice(deprecated_on: date, sunset_on: date) -> dict[str, str]:
    """The headers for one pair of dates, formatted once rather than on every request."""
    deprecated = datetime.combine(deprecated_on, time(), UTC)
    sunset = datetime.combine(sunset_on, time(), UTC)
    return {
        "Deprecation": f"@{int(deprecated.timestamp())}",
        "Sunset": format_datetime(sunset, usegmt=True),
        "Link": '</api/v2/items>; rel="successor-version"',
    }


async def deprecation_headers(request: Request, response: Response) -> None:
    """Tell v1 clients when it was deprecated, when it goes away, and where to move."""
    settings = request.state.resources.settings
    response.headers.update(
        deprecation_notice(settings.api_v1_deprecated_on, settings.api_v1_sunset_on)
    )


def add_version(
    app: FastAPI, routes: Sequence[Route], tag: str, *, deprecated: bool = False
) -> None:
    """Add one version's routes to the app itself (`app.py` says why not through a router)."""
    tags: list[str | Enum] = [tag]
    dependencies = [Depends(deprecation_headers)] if deprecated else []
    for path, endpoint, method, status_code in routes:
        app.add_api_route(
            path,
            endpoint,
            methods=[method],
            status_code=status_code,
            # A 204 has no body, so no Content-Type either (JSONResponse would set one).
            response_class=Response if status_code == NO_CONTENT else DEFAULT_RESPONSE_CLASS,
            tags=tags,
            dependencies=dependencies,
            deprecated=deprecated,
            responses=ERROR_RESPONSES,
        )


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
