"""The worker's Prometheus metrics: the outbox backlog, sampled from the database per scrape.

`outbox_events{status="pending"|"dead"}` and `outbox_oldest_pending_age_seconds` feed the
OutboxDeadEvents and OutboxBacklogStale alerts (deploy/observability/slo.yaml).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from {{ cookiecutter.package_name }}.clock import utcnow
from {{ cookiecutter.package_name }}.events.models import DEAD, PENDING
from {{ cookiecutter.package_name }}.events.outbox import OutboxRepository


class OutboxMetrics:
    """Gauges in a registry of their own, refreshed with two index-served queries per scrape."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self.registry = CollectorRegistry()
        self._events = Gauge(
            "outbox_events",
            "Outbox events by status: pending (not yet published) and dead (given up on).",
            ("status",),
            registry=self.registry,
        )
        self._oldest = Gauge(
            "outbox_oldest_pending_age_seconds",
            "Age of the oldest pending outbox event; 0 when none is pending.",
            registry=self.registry,
        )

    async def render(self) -> bytes:
        """Sample the outbox, then the text exposition; database errors propagate."""
        async with self._sessionmaker() as session:
            counts, oldest = await OutboxRepository(session).backlog()
        for status in (PENDING, DEAD):
            self._events.labels(status=status).set(counts[status])
        age = (self._clock() - oldest).total_seconds() if oldest is not None else 0.0
        self._oldest.set(max(age, 0.0))
        return generate_latest(self.registry)
