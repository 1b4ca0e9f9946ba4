"""The worker's health: the relay loop's heartbeat, and the HTTP routes the probes read.

FastStream's `make_ping_asgi` asks the broker, but a broker outage must not fail the worker's
probes (events wait in the outbox while the relay retries); a relay loop that stopped turning
must. So `/livez` and `/readyz` follow the heartbeat, and `/metrics` samples the outbox.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import structlog
from faststream.asgi import AsgiResponse, HttpHandler, get
from faststream.asgi.types import Scope
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

logger = structlog.get_logger(__name__)
TEXT = {"Content-Type": "text/plain"}


class Heartbeat:
    """Time of the relay loop's last turn; the health endpoints read it."""

    def __init__(self, stale_after: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._stale_after = stale_after
        self._clock = clock
        self._last = clock()

    def beat(self) -> None:
        """Called by the relay loop on every turn."""
        self._last = self._clock()

    def alive(self) -> bool:
        """False when the loop has been stuck longer than it ever sleeps."""
        return self._clock() - self._last < self._stale_after


def health_routes(
    heartbeat: Heartbeat, metrics: Callable[[], Awaitable[bytes]] | None = None
) -> list[tuple[str, HttpHandler]]:
    """`/livez` and `/readyz` from the heartbeat; `/metrics` (when given) from the outbox."""

    @get(include_in_schema=False)
    async def health(_scope: Scope) -> AsgiResponse:
        if heartbeat.alive():
            return AsgiResponse(b"ok\n", 200, TEXT)
        return AsgiResponse(b"stale\n", 503, TEXT)

    @get(include_in_schema=False)
    async def scrape(_scope: Scope) -> AsgiResponse:
        try:
            body = await metrics() if metrics is not None else b""
        except (SQLAlchemyError, OSError) as exc:
            logger.warning("outbox metrics unavailable", error=str(exc))
            return AsgiResponse(b"database unavailable\n", 503, TEXT)
        return AsgiResponse(body, 200, {"Content-Type": CONTENT_TYPE_LATEST})

    routes: list[tuple[str, HttpHandler]] = [("/livez", health), ("/readyz", health)]
    return routes if metrics is None else [*routes, ("/metrics", scrape)]
