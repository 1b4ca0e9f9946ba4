"""The outbox, the relay's retry and dead-letter rules, the consumer and the worker process."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
from collections.abc import AsyncIterator

import pytest
from asgi_lifespan import LifespanManager
from faststream.asgi import AsgiFastStream
from httpx import ASGITransport, AsyncClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from {{ cookiecutter.package_name }} import worker as worker_module
from {{ cookiecutter.package_name }}.clock import utcnow
from {{ cookiecutter.package_name }}.db.engine import create_engine, create_sessionmaker
from {{ cookiecutter.package_name }}.events.health import Heartbeat, health_routes
from {{ cookiecutter.package_name }}.events.models import DEAD, PENDING, SENT, OutboxEvent
from {{ cookiecutter.package_name }}.events.outbox import Outbox
from {{ cookiecutter.package_name }}.events.relay import OutboxRelay, RetryPolicy
from {{ cookiecutter.package_name }}.events.schemas import Event
from {{ cookiecutter.package_name }}.items.consumer import ItemStatsConsumer
from {{ cookiecutter.package_name }}.items.counters import ItemStat
from {{ cookiecutter.package_name }}.items.events import ItemCreated
from {{ cookiecutter.package_name }}.observability.logging import configure_logging
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.worker import Worker
from tests.broker import MARKS, UNREACHABLE

pytestmark = MARKS
NO_JITTER = RetryPolicy(max_attempts=3, base_seconds=1.0, max_seconds=8.0, jitter=lambda: 1.0)


class FakeBus:
    """Records what the relay publishes; can refuse messages or be 'down'."""

    def __init__(self, failures: int = 0, *, up: bool = True) -> None:
        self.up = up
        self.failures = failures
        self.published: list[Event] = []
        self.dead: list[tuple[str, str]] = []

    async def connected(self) -> bool:
        return self.up

    async def publish(self, event: Event) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("refused")
        self.published.append(event)

    async def dead_letter(self, event_type: str, event_id: str, payload: str, reason: str) -> None:
        _ = (event_type, payload)
        self.dead.append((event_id, reason))


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def stage(sessions: async_sessionmaker[AsyncSession], *events: Event) -> None:
    async with sessions() as session, session.begin():
        for event in events:
            Outbox(session).add(event)


async def rows(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxEvent]:
    async with sessions() as session:
        return list((await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))).all())


async def test_writes_add_events_in_their_transaction(
    client: AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    item = (await client.post("/api/v2/items", json={"name": "e", "price_cents": 3})).json()
    conflict = await client.post("/api/v2/items", json={"name": "e", "price_cents": 3})
    assert conflict.status_code == 409  # rolled back: no event for it
    assert (await client.delete(f"/api/v2/items/{item['id']}")).status_code == 204
    found = await rows(sessions)
    assert [(r.event_type, r.status, r.attempts) for r in found] == [
        ("item.created", PENDING, 0),
        ("item.deleted", PENDING, 0),
    ]
    assert json.loads(found[0].payload)["item_id"] == item["id"]


async def test_relay_publishes_in_order_and_marks_sent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    events = [ItemCreated(item_id=n, name=f"n{n}", price_cents=n) for n in range(3)]
    await stage(sessions, *events)
    bus = FakeBus()
    result = await OutboxRelay(sessions, bus, NO_JITTER, batch_size=2).run_once()
    assert (result.sent, result.claimed) == (2, 2)
    await OutboxRelay(sessions, bus, NO_JITTER, batch_size=2).run_once()
    assert bus.published == events
    assert {r.status for r in await rows(sessions)} == {SENT}


async def test_broker_outage_leaves_every_row_untouched(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await stage(sessions, ItemCreated(item_id=1, name="a", price_cents=1))
    result = await OutboxRelay(sessions, FakeBus(up=False), NO_JITTER).run_once()
    assert result.broker_down
    (row,) = await rows(sessions)
    assert (row.status, row.attempts) == (PENDING, 0)


async def test_broker_lost_mid_batch_costs_no_attempt(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await stage(sessions, ItemCreated(item_id=1, name="a", price_cents=1))
    bus = FakeBus(failures=1)

    async def lost() -> None:
        bus.up = False

    original = bus.publish

    async def publish(event: Event) -> None:
        await lost()
        await original(event)

    bus.publish = publish  # type: ignore[method-assign]
    result = await OutboxRelay(sessions, bus, NO_JITTER).run_once()
    assert result.broker_down
    (row,) = await rows(sessions)
    assert (row.status, row.attempts) == (PENDING, 0)


async def test_refused_publish_backs_off_then_goes_to_the_dead_letters(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await stage(sessions, ItemCreated(item_id=1, name="a", price_cents=1))
    bus = FakeBus(failures=10)
    now = utcnow()
    clock = [now]
    relay = OutboxRelay(sessions, bus, NO_JITTER, clock=lambda: clock[0])
    delays = []
    for _ in range(NO_JITTER.max_attempts):
        result = await relay.run_once()
        (row,) = await rows(sessions)
        if row.status == PENDING:
            delays.append((row.available_at - clock[0]).total_seconds())
            assert result.retried == 1
            assert (await relay.run_once()).claimed == 0  # not due yet
            clock[0] = row.available_at
    assert delays == [1.0, 2.0]
    assert (row.status, row.attempts, result.dead) == (DEAD, 3, 1)
    assert row.last_error == "RuntimeError: refused"
    assert bus.dead == [(row.event_id, "RuntimeError: refused")]


async def test_undecodable_payload_is_poison_at_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        session.add(OutboxEvent(event_id="x", event_type="item.created", payload="{"))
        session.add(OutboxEvent(event_id="y", event_type="unknown", payload="{}"))
    bus = FakeBus()

    async def dead_letter_down(*_args: str) -> None:
        raise ConnectionError

    bus.dead_letter = dead_letter_down  # type: ignore[method-assign,assignment]
    result = await OutboxRelay(sessions, bus, NO_JITTER).run_once()
    assert (result.dead, result.sent) == (2, 0)
    assert [(r.status, r.attempts) for r in await rows(sessions)] == [(DEAD, 0), (DEAD, 0)]


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    assert [NO_JITTER.delay(n) for n in (1, 2, 3, 4, 5, 99)] == [1, 2, 4, 8, 8, 8]
    jittered = RetryPolicy(base_seconds=1.0, jitter=lambda: 0.0)
    assert jittered.delay(1) == 0.5


async def test_run_loop_backs_off_while_down_and_stops(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await stage(sessions, ItemCreated(item_id=1, name="a", price_cents=1))
    bus = FakeBus(up=False)
    stop = asyncio.Event()
    sleeps: list[float] = []
    beats: list[None] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        bus.up = len(sleeps) >= 2
        if len(sleeps) == 4:
            stop.set()

    relay = OutboxRelay(sessions, bus, NO_JITTER, batch_size=1)
    await relay.run(stop, idle_seconds=0.5, heartbeat=lambda: beats.append(None), sleep=sleep)
    assert sleeps == [1.0, 2.0, 0.0, 0.5]  # down, down, a full batch, then idle
    assert len(bus.published) == 1
    assert len(beats) == 4


async def test_run_loop_survives_a_database_outage() -> None:
    class Broken:
        def __call__(self) -> AsyncSession:
            raise OperationalError("SELECT 1", {}, Exception("down"))

    stop = asyncio.Event()

    async def sleep(_seconds: float) -> None:
        stop.set()

    relay = OutboxRelay(Broken(), FakeBus(), NO_JITTER)  # type: ignore[arg-type]
    await relay.run(stop, idle_seconds=0.1, sleep=sleep)
    assert stop.is_set()


async def test_run_loop_sleeps_until_stopped(sessions: async_sessionmaker[AsyncSession]) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(OutboxRelay(sessions, FakeBus(), NO_JITTER).run(stop, 10.0))
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.wait_for(task, 5)


async def test_consumer_applies_each_event_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    consumer = ItemStatsConsumer(sessions)
    first, second = (ItemCreated(item_id=n, name="a", price_cents=1) for n in (1, 2))
    assert await consumer.handle(first)
    assert not await consumer.handle(first)
    assert await consumer.handle(second)
    async with sessions() as session:
        assert await session.scalar(select(ItemStat.value)) == 2
    assert (consumer.applied, consumer.duplicates) == (2, 1)


async def test_health_endpoint_follows_the_heartbeat() -> None:
    now = [0.0]
    heartbeat = Heartbeat(stale_after=10, clock=lambda: now[0])
    app = AsgiFastStream(asgi_routes=health_routes(heartbeat))

    async def probe() -> int:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://w") as client:
            return (await client.get("/livez")).status_code

    assert await probe() == 200
    now[0] = 11
    assert await probe() == 503
    heartbeat.beat()
    assert heartbeat.alive()


async def test_worker_retries_an_unreachable_broker_until_stopped(settings: Settings) -> None:
    unreachable = settings.model_copy(
        update={"worker_health_port": 0, "broker_url": SecretStr(UNREACHABLE)}
    )
    worker = Worker.from_settings(unreachable)
    async with LifespanManager(worker.app(), shutdown_timeout=30):
        await asyncio.sleep(0.8)
    assert worker.heartbeat.alive()
    gc.collect()


def test_main_prints_the_asyncapi_document(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    worker_module.main(["asyncapi"])
    assert "ItemCreated" in json.loads(capsys.readouterr().out)["components"]["schemas"]
    served: list[Settings] = []

    async def serve(settings: Settings) -> None:
        served.append(settings)

    monkeypatch.setattr(worker_module, "serve", serve)
    worker_module.main([])
    assert len(served) == 1


async def test_serve_stops_on_sigterm(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "json")  # to this test's stdout, not an earlier test's
    started = asyncio.Event()

    async def connect(self: Worker) -> bool:
        started.set()
        await self.stop.wait()
        return False

    monkeypatch.setattr(Worker, "connect", connect)
    # uvicorn re-raises SIGTERM once it has drained (main() turns that into exit 0): ignore it.
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        task = asyncio.create_task(
            worker_module.serve(settings.model_copy(update={"worker_health_port": 0}))
        )
        await started.wait()
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(task, 5)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert "worker stopped" in capsys.readouterr().out


async def test_a_crashed_relay_stops_the_worker(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "json")  # to this test's stdout, not an earlier test's

    async def connect(_self: Worker) -> bool:
        return True

    async def crash(*_args: object) -> None:
        raise RuntimeError("relay bug")

    monkeypatch.setattr(Worker, "connect", connect)
    monkeypatch.setattr(OutboxRelay, "run", crash)
    ephemeral = settings.model_copy(update={"worker_health_port": 0})
    with pytest.raises(RuntimeError, match="relay bug"):
        await asyncio.wait_for(worker_module.serve(ephemeral), 10)
    assert "worker stopped" in capsys.readouterr().out  # drained and closed on the way out
