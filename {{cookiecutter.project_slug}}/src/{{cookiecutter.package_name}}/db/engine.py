"""Async engine and session factory built from settings; the one place pool sizing lives."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager
from typing import Any

import structlog
from sqlalchemy import event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from {{ cookiecutter.package_name }}.db.unit_of_work import SqlReadUnit
from {{ cookiecutter.package_name }}.db.{{ "write_unit_none" if cookiecutter.messaging == "none" else "write_unit" }} import SqlUnitOfWork
from {{ cookiecutter.package_name }}.settings import SQLITE_DRIVER, Settings

logger = structlog.get_logger(__name__)
REPLICA_RETRY_SECONDS = 30.0  # after a failed replica connect, read from the primary this long


def create_engine(settings: Settings, url: str | None = None) -> AsyncEngine:
    """Create the engine for the primary (or for `url`, e.g. the read replica).

    Pool sizing: every process (each of WEB_CONCURRENCY uvicorn workers, and each outbox worker)
    has its own pool per engine, so one server sees up to
    (DATABASE_POOL_SIZE + DATABASE_MAX_OVERFLOW) x (WEB_CONCURRENCY x api pods + worker pods)
    connections, pods added by a rollout's surge included, which must stay below its
    max_connections (or the pooler's limit). The defaults, 4 + 0 per process, need 12 with the
    chart's two API pods and one worker (20 during a rollout) and 60 at its autoscaler's 10
    pods during a rollout: within PostgreSQL's default 100; WEB_CONCURRENCY=2 there needs a
    pool of 3 (README.md, "Connection pools"). Size the pool to the concurrency one process
    actually has (an async worker runs many requests on few connections) rather than raising
    it to absorb slow queries.
    Prepared statements stay cached per connection (asyncpg's, through SQLAlchemy's default
    of 100): the service has fewer than 30 distinct statements, and without the cache the list
    route served ~15% fewer requests per second.
    """
    url = url or settings.database_url.get_secret_value()
    if url.startswith(SQLITE_DRIVER):
        engine = create_async_engine(
            url, connect_args={"timeout": settings.database_connect_timeout}
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout,
        pool_pre_ping=settings.database_pool_pre_ping,
        connect_args={"timeout": settings.database_connect_timeout},
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:  # noqa: ANN401 - untyped DBAPI
    """WAL lets readers run beside the writer; foreign keys are off in SQLite by default."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions keep loaded objects usable after commit, so responses can be built from them."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    """Round-trip to the database; raises when it cannot be reached."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def for_reads(engine: AsyncEngine) -> AsyncEngine:
    """The engine's pool, its connections outside any transaction: what read units use.

    A read unit runs one statement at a time, each its own snapshot (as READ COMMITTED gave
    them in a transaction), so BEGIN and ROLLBACK were two round trips for nothing: measured
    with `make bench`, ~8% of the list route's CPU. The driver starts no transaction in
    autocommit; the connection goes back to the pool at its default isolation level.
    """
    return engine.execution_options(isolation_level="AUTOCOMMIT")


class ReadRouter:
    """Connections for reads: on the replica while it answers, else on the primary.

    A failed replica connect is logged once and the primary serves reads for
    REPLICA_RETRY_SECONDS, so an outage costs one connect timeout, not one per request.
    """

    def __init__(
        self,
        primary: AsyncEngine,
        replica: AsyncEngine | None,
        connect_timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._primary = for_reads(primary)
        self._replica = None if replica is None else for_reads(replica)
        self._timeout = connect_timeout
        self._clock = clock
        self._replica_down_until = 0.0

    async def connect(self) -> AsyncConnection:
        """A connection to the replica, or to the primary as the fallback; the caller closes it."""
        if self._replica is None or self._clock() < self._replica_down_until:
            return await self._primary.connect()
        try:
            async with asyncio.timeout(self._timeout):
                return await self._replica.connect()
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            self._replica_down_until = self._clock() + REPLICA_RETRY_SECONDS
            logger.warning(
                "read replica unavailable, reading from the primary",
                error=str(exc) or type(exc).__name__,
                retry_in_seconds=REPLICA_RETRY_SECONDS,
            )
            return await self._primary.connect()


class Checkout:
    """At most `slots` units of work hold a connection at once, granted first come first served.

    With more requests in flight than connections, those left waiting inside SQLAlchemy's
    async pool (each in its greenlet) did not all get their turn: `make bench`, list route,
    pool of 4, 32 clients, p99 of 500-700 ms against P's 40-55 ms (150 ms with a pool of 10,
    100-220 ms with 32). Waiting here first, before any pool or greenlet, in arrival order
    (asyncio's Semaphore hands a freed slot to the longest waiter): 62-74 ms at the same
    throughput. The wait is bounded by DATABASE_POOL_TIMEOUT, as the pool's was, and ends
    the same way: a 503.
    """

    def __init__(self, slots: int, timeout: float) -> None:
        self._free = asyncio.Semaphore(slots)
        self._timeout = timeout

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot while the block runs.

        A free slot with no one waiting is taken at once, without arming a timer: that is
        every database request of a process under its pool's concurrency.
        """
        if self._free.locked():
            try:
                async with asyncio.timeout(self._timeout):
                    await self._free.acquire()
            except TimeoutError as exc:
                raise PoolTimeoutError(
                    f"no database connection free within {self._timeout:g} s"
                ) from exc
        else:
            await self._free.acquire()  # returns at once: a slot is free and no one waits
        try:
            yield
        finally:
            self._free.release()

    @classmethod
    def for_pool(cls, settings: Settings) -> Checkout:
        """As many slots as one pool has connections, with its timeout."""
        slots = settings.database_pool_size + settings.database_max_overflow
        return cls(slots, settings.database_pool_timeout)


class Sessions:
    """Units of work for use cases (`items.unit_of_work`): each opens its own, a cache hit none.

    `write()` is one transaction on the primary: committed when the block ends, rolled back
    if it raises, so a change and its events are stored together or not at all. `read()`
    goes to the replica while it answers (see ReadRouter), on a connection in autocommit,
    with no session: reads are SQLAlchemy Core. Either waits its turn for a connection
    (`Checkout`); a use case opens one unit at a time.
    """

    def __init__(
        self, primary: async_sessionmaker[AsyncSession], reader: ReadRouter, checkout: Checkout
    ) -> None:
        self._primary = primary
        self._reader = reader
        self._checkout = checkout

    @asynccontextmanager
    async def write(self) -> AsyncIterator[SqlUnitOfWork]:
        """A unit of work in a transaction on the primary."""
        async with self._checkout.slot(), self._primary.begin() as session:
            yield SqlUnitOfWork(session)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[SqlReadUnit]:
        """A read-only unit on the replica, or on the primary as the fallback."""
        async with self._checkout.slot(), aclosing(await self._reader.connect()) as connection:
            yield SqlReadUnit(connection)
