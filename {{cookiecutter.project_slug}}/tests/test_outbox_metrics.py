"""The worker's `/metrics`: outbox backlog gauges sampled from the database on each scrape."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from faststream.asgi import AsgiFastStream
from httpx import ASGITransport, AsyncClient, Response
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from {{ cookiecutter.package_name }}.clock import utcnow
from {{ cookiecutter.package_name }}.db.engine import create_engine, create_sessionmaker
from {{ cookiecutter.package_name }}.events.health import Heartbeat, health_routes
from {{ cookiecutter.package_name }}.events.metrics import OutboxMetrics
from {{ cookiecutter.package_name }}.events.models import DEAD, SENT, OutboxEvent
from {{ cookiecutter.package_name }}.events.outbox import Outbox
from {{ cookiecutter.package_name }}.items.events import ItemDeleted
from {{ cookiecutter.package_name }}.observability.logging import configure_logging
from {{ cookiecutter.package_name }}.settings import Settings

NOW = utcnow()


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings)
    yield create_sessionmaker(engine)
    await engine.dispose()


def samples(text: bytes) -> dict[tuple[str, str], float]:
    """(metric name, status label) -> value, from the Prometheus text exposition."""
    return {
        (sample.name, sample.labels.get("status", "")): sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
    }


async def scrape(heartbeat: Heartbeat, metrics: Callable[[], Awaitable[bytes]]) -> Response:
    """GET /metrics from the worker's routes, as its uvicorn serves them."""
    app = AsgiFastStream(asgi_routes=health_routes(heartbeat, metrics))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://w") as client:
        return await client.get("/metrics")


async def test_backlog_counts_and_oldest_pending_age(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    metrics = OutboxMetrics(sessions, clock=lambda: NOW)
    empty = samples(await metrics.render())
    assert empty[("outbox_events", "pending")] == 0
    assert empty[("outbox_events", "dead")] == 0
    assert empty[("outbox_oldest_pending_age_seconds", "")] == 0

    ages = (600, 90, 30, 5)  # seconds before NOW: the first is sent, the second dead
    async with sessions() as session, session.begin():
        for n, age in enumerate(ages):
            Outbox(session).add(ItemDeleted(item_id=n, occurred_at=NOW - timedelta(seconds=age)))
    async with sessions() as session, session.begin():
        await session.execute(update(OutboxEvent).where(OutboxEvent.id == 1).values(status=SENT))
        await session.execute(update(OutboxEvent).where(OutboxEvent.id == 2).values(status=DEAD))

    found = samples(await metrics.render())
    assert found[("outbox_events", "pending")] == 2
    assert found[("outbox_events", "dead")] == 1
    assert found[("outbox_oldest_pending_age_seconds", "")] == 30  # the oldest *pending* one


async def test_worker_serves_them_on_its_health_port(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    metrics = OutboxMetrics(sessions)
    answer = await scrape(Heartbeat(stale_after=10), metrics.render)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == CONTENT_TYPE_LATEST
    assert samples(answer.content)[("outbox_events", "pending")] == 0


async def test_a_database_outage_fails_the_scrape_not_the_worker(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def down() -> bytes:
        raise OperationalError("SELECT 1", {}, Exception("down"))

    configure_logging("INFO", "json")  # to this test's stdout
    heartbeat = Heartbeat(stale_after=10)
    answer = await scrape(heartbeat, down)
    assert answer.status_code == 503
    assert "outbox metrics unavailable" in capsys.readouterr().out
    assert heartbeat.alive()
