"""Versioned routers: v1 is deprecated (RFC 9745 `Deprecation`, RFC 8594 `Sunset`), v2 current."""

from __future__ import annotations

from datetime import UTC, datetime, time
from email.utils import format_datetime

from fastapi import APIRouter, Depends, Response

from {{ cookiecutter.package_name }}.api.deps import SettingsDep
from {{ cookiecutter.package_name }}.items import router_v1 as items_v1
from {{ cookiecutter.package_name }}.items import router_v2 as items_v2

PROBLEM: dict[str, object] = {"content": {"application/problem+json": {}}}
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    400: {"description": "Invalid input", **PROBLEM},
    404: {"description": "Not found", **PROBLEM},
    409: {"description": "Conflict", **PROBLEM},
    422: {"description": "Validation error", **PROBLEM},
    503: {"description": "Dependency unavailable", **PROBLEM},
}


async def deprecation_headers(response: Response, settings: SettingsDep) -> None:
    """Tell v1 clients when it was deprecated, when it goes away, and where to move."""
    deprecated = datetime.combine(settings.api_v1_deprecated_on, time(), UTC)
    sunset = datetime.combine(settings.api_v1_sunset_on, time(), UTC)
    response.headers["Deprecation"] = f"@{int(deprecated.timestamp())}"
    response.headers["Sunset"] = format_datetime(sunset, usegmt=True)
    response.headers["Link"] = '</api/v2/items>; rel="successor-version"'


def build_v1() -> APIRouter:
    """Routes of API v1."""
    router = APIRouter(
        prefix="/api/v1",
        dependencies=[Depends(deprecation_headers)],
        deprecated=True,
        responses=ERROR_RESPONSES,
    )
    router.include_router(items_v1.router)
    return router


def build_v2() -> APIRouter:
    """Routes of API v2."""
    router = APIRouter(prefix="/api/v2", responses=ERROR_RESPONSES)
    router.include_router(items_v2.router)
    return router
