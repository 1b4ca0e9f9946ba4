"""What every API version shares: its error responses, and v1's deprecation notice.

v1 is deprecated (RFC 9745 `Deprecation`, RFC 8594 `Sunset`, a successor `Link`); v2 is
current. Each version's module adds its routes to the app (`add_routes`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from email.utils import format_datetime
from functools import cache

from fastapi import Request, Response

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
