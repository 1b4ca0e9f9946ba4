"""The event worker: `python -m {{ cookiecutter.package_name }}.worker`.

One process relays the transactional outbox to the broker and runs the event consumers; run
as many as you like (PostgreSQL row locks keep relays from sending one row twice at once).
It is FastStream's ASGI application, served by uvicorn on WORKER_HEALTH_PORT: `/livez` and
`/readyz` for the chart's probes fail when the relay loop has not turned for longer than its
longest backoff; `/metrics` reports the outbox backlog (events/metrics.py). uvicorn handles
SIGTERM; FastStream's lifespan hooks start the relay once the broker is up and drain it
before the broker stops. `... worker asyncapi` prints the AsyncAPI document of the events.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import structlog
import uvicorn
from faststream.asgi import AsgiFastStream
from faststream.specification import AsyncAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from {{ cookiecutter.package_name }}.__main__ import exit_cleanly
from {{ cookiecutter.package_name }}.db.engine import create_engine, create_sessionmaker
from {{ cookiecutter.package_name }}.events.broker import Broker, EventBus, Topology, create_broker
from {{ cookiecutter.package_name }}.events.health import Heartbeat, health_routes
from {{ cookiecutter.package_name }}.events.metrics import OutboxMetrics
from {{ cookiecutter.package_name }}.events.relay import OutboxRelay, RetryPolicy
from {{ cookiecutter.package_name }}.items.consumer import ItemStatsConsumer, register
from {{ cookiecutter.package_name }}.observability.logging import configure_logging
from {{ cookiecutter.package_name }}.observability.tracing import configure_tracing
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.startup import settings_or_exit

logger = structlog.get_logger(__name__)


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
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    relaying: asyncio.Task[None] | None = field(default=None, init=False)
    exit: Callable[[], object] = field(default=lambda: None, init=False)  # set by `serve`

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

    def app(self) -> AsgiFastStream:
        """FastStream's ASGI application of this worker: health routes and lifespan hooks."""
        return WorkerApp(self)

    async def connect(self) -> bool:
        """Start the broker (and the consumers) with backoff; False if stopped first."""
        attempt = 0
        while not self.stop.is_set():
            self.heartbeat.beat()
            try:
                if not await _unless_stopped(self.bus.broker.start(), self.stop):
                    return False
                await self.bus.prepare()
            except Exception as exc:  # noqa: BLE001 - each client library raises its own errors
                attempt += 1
                delay = self.policy.delay(attempt)
                logger.warning("broker unreachable, retrying", error=str(exc), retry_in=delay)
                with contextlib.suppress(Exception):
                    await self.bus.broker.stop()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), delay)
            else:
                return True
        return False

    async def start_relay(self) -> None:
        """After the broker is up: relay in the background until `stop` is set."""
        if self.stop.is_set():
            return  # stopped while connecting
        logger.info("worker started", prefix=self.settings.events_prefix)
        poll = self.settings.outbox_poll_seconds
        self.relaying = asyncio.create_task(self.relay.run(self.stop, poll, self.heartbeat.beat))
        # A loop that ends unasked has crashed: stop serving, `serve` then raises its error.
        self.relaying.add_done_callback(lambda _: self.stop.is_set() or self.exit())

    async def drain(self) -> None:
        """Before the broker stops: end the relay's current batch, then its loop."""
        self.stop.set()
        if self.relaying is not None:
            await asyncio.wait({self.relaying})

    async def close(self) -> None:
        """After the broker stopped: close the database pool."""
        await self.engine.dispose()
        logger.info("worker stopped")


class WorkerApp(AsgiFastStream):
    """The worker as FastStream's application; only how the broker is started is our own."""

    def __init__(self, worker: Worker) -> None:
        super().__init__(
            worker.bus.broker,
            asgi_routes=health_routes(worker.heartbeat, worker.metrics.render),
            logger=None,  # structlog lines of our own: worker started / stopped
            after_startup=[worker.start_relay],
            on_shutdown=[worker.drain],
            after_shutdown=[worker.close],
            specification=specification(),
        )
        self._worker = worker

    async def _start_broker(self) -> None:
        """FastStream's own start fails on an unreachable broker; the outbox lets us retry."""
        await self._worker.connect()


def specification() -> AsyncAPI:
    """The AsyncAPI document's header; FastStream adds each publisher and subscriber to it."""
    return AsyncAPI(
        title={{ cookiecutter.project_name | tojson | replace('\\"', '\\u0022') }},
        version="0.1.0",
        description="Events of {{ cookiecutter.project_slug }}; payloads are pydantic models.",
    )


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
    return Worker.from_settings(settings).app().schema.to_specification().to_json()


async def serve(settings: Settings) -> None:
    """Serve the worker's application until SIGTERM or SIGINT (uvicorn's signal handling)."""
    worker = Worker.from_settings(settings)
    config = uvicorn.Config(
        worker.app(),
        host="0.0.0.0",  # noqa: S104 - the pod's probes  # nosec B104
        port=settings.worker_health_port,
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
    )
    server = uvicorn.Server(config)
    worker.exit = lambda: setattr(server, "should_exit", True)
    await server.serve()
    if worker.relaying is not None and worker.relaying.done():
        worker.relaying.result()  # a crashed relay exits non-zero, with its traceback


def main(argv: list[str] | None = None) -> None:
    """`worker` runs the relay and consumers; `worker asyncapi` prints the event schema."""
    args = sys.argv[1:] if argv is None else argv
    settings = settings_or_exit()
    if args == ["asyncapi"]:
        sys.stdout.write(asyncapi(settings) + "\n")
        return
    configure_logging(settings.log_level, settings.log_format)
    configure_tracing(settings.service_name)  # global provider for the broker's spans, if set
    for signum in (signal.SIGTERM, signal.SIGINT):  # uvicorn re-raises it once drained: exit 0
        signal.signal(signum, exit_cleanly)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
