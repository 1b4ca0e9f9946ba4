"""Fault test: the broker is down while items are created; nothing is lost or applied twice.

TEST_BROKER_URL runs it against a real broker; otherwise the in-memory test broker stands in
for the broker that comes back. Broker names get a per-test prefix and are deleted afterwards.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext

import pytest
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient
from pydantic import SecretStr
from sqlalchemy import func, select, update

from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.db.engine import create_engine, create_sessionmaker
from {{ cookiecutter.package_name }}.events.broker import Topology
from {{ cookiecutter.package_name }}.events.models import PENDING, OutboxEvent, ProcessedEvent
from {{ cookiecutter.package_name }}.events.outbox import OutboxRepository
from {{ cookiecutter.package_name }}.items.consumer import ITEMS_CREATED
from {{ cookiecutter.package_name }}.items.counters import ItemStat
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.worker import Worker
from tests.broker import MARKS, REAL_BROKER_DEDUPES, UNREACHABLE, TestBroker, delete_names

BROKER_URL = os.environ.get("TEST_BROKER_URL")
pytestmark = MARKS
ITEMS = 100
BROKER_DEDUPES = REAL_BROKER_DEDUPES and bool(BROKER_URL)


@pytest.fixture
def event_settings(settings: Settings) -> Settings:
    """Own broker names per test, a fast poll, the real broker when TEST_BROKER_URL is set."""
    update_: dict[str, object] = {
        "events_prefix": f"test-{uuid.uuid4().hex[:10]}",
        "outbox_poll_seconds": 0.05,
        "worker_health_port": 0,
    }
    if BROKER_URL:
        update_["broker_url"] = SecretStr(BROKER_URL)
    return settings.model_copy(update=update_)


@asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[None]:
    """Run the worker's application through its lifespan, as uvicorn does; stop it cleanly."""
    async with LifespanManager(worker.app(), startup_timeout=30, shutdown_timeout=30):
        yield


async def until(condition: Callable[[], bool], limit: float = 60) -> float:
    """Wait for a condition; return the seconds it took."""
    start = time.perf_counter()
    while not condition():
        assert time.perf_counter() - start < limit, "timed out"
        await asyncio.sleep(0.02)
    return time.perf_counter() - start


def broker_for(worker: Worker) -> AbstractAsyncContextManager[object]:
    """The real broker (TEST_BROKER_URL), or the in-memory one patched over it."""
    return nullcontext() if BROKER_URL else TestBroker(worker.bus.broker)


async def database_counts(settings: Settings) -> dict[str, int]:
    engine = create_engine(settings)
    async with create_sessionmaker(engine)() as session:
        outbox = await OutboxRepository(session).count_by_status()
        processed = await session.scalar(select(func.count()).select_from(ProcessedEvent))
        effect = await session.scalar(select(ItemStat.value).where(ItemStat.name == ITEMS_CREATED))
    await engine.dispose()
    return {**outbox, "processed": int(processed or 0), "effect": int(effect or 0)}


async def settled(settings: Settings, expected: dict[str, int]) -> dict[str, int]:
    """Counts once they include `expected` (the relay commits after the consumer acts)."""
    start = time.perf_counter()
    while True:
        counts = await database_counts(settings)
        if expected.items() <= counts.items() or time.perf_counter() - start > 30:
            return counts
        await asyncio.sleep(0.05)


async def test_broker_outage_loses_nothing_and_duplicates_nothing(
    event_settings: Settings, bearer: dict[str, str]
) -> None:
    # 1. Items are created while no broker is reachable: every request succeeds.
    app = create_app(event_settings)
    async with (
        LifespanManager(app) as manager,
        AsyncClient(
            transport=ASGITransport(app=manager.app), base_url="http://test", headers=bearer
        ) as client,
    ):
        statuses = [
            (
                await client.post("/api/v2/items", json={"name": f"i{n}", "price_cents": n})
            ).status_code
            for n in range(ITEMS)
        ]
    assert statuses == [201] * ITEMS

    # 2. A worker whose broker is unreachable keeps retrying and sends nothing.
    down = Worker.from_settings(
        event_settings.model_copy(update={"broker_url": SecretStr(UNREACHABLE)})
    )
    async with running(down):
        await asyncio.sleep(1.0)
    gc.collect()
    assert await database_counts(event_settings) == {PENDING: ITEMS, "processed": 0, "effect": 0}

    # 3. The broker is back: every event is delivered and applied once.
    worker = Worker.from_settings(event_settings)
    try:
        async with broker_for(worker), running(worker):
            took = await until(lambda: worker.consumer.applied == ITEMS)
            counts = await settled(event_settings, {"sent": ITEMS, "processed": ITEMS})
        assert counts == {"sent": ITEMS, "processed": ITEMS, "effect": ITEMS}, counts
        print(f"\n[events] {ITEMS} delivered after the outage in {took:.2f} s, 0 lost, 0 twice")

        # 4. A relay that crashed after publishing, before marking sent, publishes every
        # event again: the consumer recognises each one and the effect stays the same.
        engine = create_engine(event_settings)
        async with create_sessionmaker(engine)() as session, session.begin():
            await session.execute(update(OutboxEvent).values(status=PENDING))
        await engine.dispose()
        again = Worker.from_settings(event_settings)
        async with broker_for(again), running(again):
            counts = await settled(event_settings, {"sent": ITEMS})
            if BROKER_DEDUPES:
                await asyncio.sleep(0.5)  # anything past the broker's dedupe would show up
            else:
                await until(lambda: again.consumer.duplicates == ITEMS)
        assert counts == {"sent": ITEMS, "processed": ITEMS, "effect": ITEMS}, counts
        assert again.consumer.applied == 0
        duplicates = again.consumer.duplicates
    finally:
        await delete_broker_names(event_settings)
    print(
        f"[events] {ITEMS} published again: {duplicates} reached the consumer, "
        f"0 duplicated effects ({BROKER_URL or 'in-memory'})"
    )


async def test_an_event_nobody_consumes_yet_is_sent_not_dead(
    event_settings: Settings, bearer: dict[str, str]
) -> None:
    # item.deleted has no consumer (no queue binds it): publishing it is still a success.
    app = create_app(event_settings)
    async with (
        LifespanManager(app) as manager,
        AsyncClient(
            transport=ASGITransport(app=manager.app), base_url="http://test", headers=bearer
        ) as client,
    ):
        item = (await client.post("/api/v2/items", json={"name": "gone", "price_cents": 1})).json()
        assert (await client.delete(f"/api/v2/items/{item['id']}")).status_code == 204
    # One refusal would make an event dead at once, so a refused publish cannot hide in retries.
    worker = Worker.from_settings(event_settings.model_copy(update={"outbox_max_attempts": 1}))
    try:
        async with broker_for(worker), running(worker):
            counts = await settled(event_settings, {"sent": 2, "processed": 1})
    finally:
        await delete_broker_names(event_settings)
    assert counts == {"sent": 2, "processed": 1, "effect": 1}, counts


async def delete_broker_names(settings: Settings) -> None:
    """Remove the per-test queues, exchange or stream from a real broker."""
    if not BROKER_URL:
        return
    topology = Topology(settings.events_prefix)
    await delete_names(BROKER_URL, topology)
