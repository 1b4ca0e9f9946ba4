"""The event worker: `python -m {{ cookiecutter.package_name }}.worker`.

One process relays the transactional outbox to the broker and runs the event consumers; run
as many as you like (PostgreSQL row locks keep relays from sending one row twice at once).
It serves `/livez` and `/readyz` on WORKER_HEALTH_PORT for the chart's probes: both fail
when the relay loop has not turned for longer than its longest backoff; `/metrics` there
reports the outbox backlog (events/metrics.py). `... worker asyncapi`
prints the AsyncAPI document of the events instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import structlog
from faststream.specification import AsyncAPI
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from {{ cookiecutter.package_name }}.db.engine import create_engine, create_sessionmaker
from {{ cookiecutter.package_name }}.events.broker import Broker, EventBus, Topology, create_broker
from {{ cookiecutter.package_name }}.events.metrics import OutboxMetrics
from {{ cookiecutter.package_name }}.events.relay import OutboxRelay, RetryPolicy
from {{ cookiecutter.package_name }}.items.consumer import ItemStatsConsumer, register
from {{ cookiecutter.package_name }}.observability.logging import configure_logging
from {{ cookiecutter.package_name }}.observability.tracing import configure_tracing
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.startup import settings_or_exit

logger = structlog.get_logger(__name__)


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


async def serve_health(
    port: int, heartbeat: Heartbeat, metrics: Callable[[], Awaitable[bytes]] | None = None
) -> asyncio.Server:
    """A minimal HTTP/1.1 endpoint: `/metrics` for Prometheus, else the heartbeat's state.

    Any other path answers 200 while the heartbeat is fresh, 503 otherwise.
    """

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, TimeoutError, asyncio.IncompleteReadError):
            async with asyncio.timeout(5):
                request = await reader.readuntil(b"\r\n\r\n")
            target = [*request.split(b" ", 2), b"", b""][1].split(b"?")[0]
            status, body, kind = await _respond(target, heartbeat, metrics)
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        writer.close()

    return await asyncio.start_server(answer, "0.0.0.0", port)  # noqa: S104 - the pod's probes  # nosec B104


async def _respond(
    target: bytes, heartbeat: Heartbeat, metrics: Callable[[], Awaitable[bytes]] | None
) -> tuple[str, bytes, str]:
    """Status line, body and content type for one request path."""
    if target == b"/metrics" and metrics is not None:
        try:
            return "200 OK", await metrics(), CONTENT_TYPE_LATEST
        except (SQLAlchemyError, OSError) as exc:
            logger.warning("outbox metrics unavailable", error=str(exc))
            return "503 Service Unavailable", b"database unavailable\n", "text/plain"
    if heartbeat.alive():
        return "200 OK", b"ok\n", "text/plain"
    return "503 Service Unavailable", b"stale\n", "text/plain"


@dataclass
class Worker:
    """The worker's parts, wired from settings (tests pass an in-memory broker)."""

    settings: Settings
    engine: AsyncEngine
    bus: EventBus
    consumer: ItemStatsConsumer
    relay: OutboxRelay
    policy: RetryPolicy
    heartbeat: Heartbeat
    metrics: OutboxMetrics

    @classmethod
    def from_settings(cls, settings: Settings, broker: Broker | None = None) -> Worker:
        """Engine, broker, publishers, consumers and relay; nothing connects yet."""
        engine = create_engine(settings)
        sessionmaker = create_sessionmaker(engine)
        bus = EventBus(broker or create_broker(settings), Topology(settings.events_prefix))
        consumer = ItemStatsConsumer(sessionmaker)
        register(bus, consumer)
        policy = RetryPolicy(
            max_attempts=settings.outbox_max_attempts,
            max_seconds=settings.outbox_max_backoff_seconds,
        )
        relay = OutboxRelay(sessionmaker, bus, policy, settings.outbox_batch_size)
        # The loop sleeps at most one backoff between turns; a minute more means it is stuck.
        heartbeat = Heartbeat(stale_after=settings.outbox_max_backoff_seconds + 60)
        metrics = OutboxMetrics(sessionmaker)
        return cls(settings, engine, bus, consumer, relay, policy, heartbeat, metrics)

    async def run(self, stop: asyncio.Event) -> None:
        """Serve health, connect (retrying), then relay until `stop` is set; close everything."""
        server = await serve_health(
            self.settings.worker_health_port, self.heartbeat, self.metrics.render
        )
        try:
            if await self._connect(stop):
                await self.bus.prepare()
                logger.info("worker started", prefix=self.settings.events_prefix)
                await self.relay.run(stop, self.settings.outbox_poll_seconds, self.heartbeat.beat)
        finally:
            server.close()
            await server.wait_closed()
            await self.bus.broker.stop()
            await self.engine.dispose()
            logger.info("worker stopped")

    async def _connect(self, stop: asyncio.Event) -> bool:
        """Start the broker (and the consumers) with backoff; False if stopped first."""
        attempt = 0
        while not stop.is_set():
            self.heartbeat.beat()
            try:
                if not await _unless_stopped(self.bus.broker.start(), stop):
                    return False
            except Exception as exc:  # noqa: BLE001 - each client library raises its own errors
                attempt += 1
                delay = self.policy.delay(attempt)
                logger.warning("broker unreachable, retrying", error=str(exc), retry_in=delay)
                with contextlib.suppress(Exception):
                    await self.bus.broker.stop()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
            else:
                return True
        return False


async def _unless_stopped(work: Coroutine[Any, Any, object], stop: asyncio.Event) -> bool:
    """Await `work` unless `stop` is set first; True when it finished, False if cancelled.

    Some clients retry a first connect for minutes; `work`'s own errors propagate.
    """
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return False
    task.result()
    return True


def asyncapi(settings: Settings) -> str:
    """The AsyncAPI 3 document of every event the service publishes and consumes."""
    worker = Worker.from_settings(settings)
    spec = AsyncAPI(
        worker.bus.broker,
        title={{ cookiecutter.project_name | tojson | replace('\\"', '\\u0022') }},
        version="0.1.0",
        description="Events of {{ cookiecutter.project_slug }}; payloads are pydantic models.",
    )
    return spec.to_specification().to_json()


async def serve(settings: Settings) -> None:
    """Run the worker until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await Worker.from_settings(settings).run(stop)


def main(argv: list[str] | None = None) -> None:
    """`worker` runs the relay and consumers; `worker asyncapi` prints the event schema."""
    args = sys.argv[1:] if argv is None else argv
    settings = settings_or_exit()
    if args == ["asyncapi"]:
        sys.stdout.write(asyncapi(settings) + "\n")
        return
    configure_logging(settings.log_level, settings.log_format)
    configure_tracing(settings.service_name)  # global provider for the broker's spans, if set
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
