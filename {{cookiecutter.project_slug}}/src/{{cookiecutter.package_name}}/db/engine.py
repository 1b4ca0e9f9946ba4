"""Async engine and session factory built from settings; the one place pool sizing lives."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from sqlalchemy import event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
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
    connections, which must stay below its max_connections (or the pooler's limit). The
    defaults, 5 + 5 per process with WEB_CONCURRENCY=1, two API pods and one worker, need 30.
    Size the pool to the concurrency one process actually has (an async worker runs many
    requests on few connections) rather than raising it to absorb slow queries.
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


class ReadRouter:
    """Sessions for read-only requests: on the replica while it answers, else on the primary.

    A failed replica connect is logged once and the primary serves reads for
    REPLICA_RETRY_SECONDS, so an outage costs one connect timeout, not one per request.
    """

    def __init__(
        self,
        primary: async_sessionmaker[AsyncSession],
        replica: async_sessionmaker[AsyncSession] | None,
        connect_timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._primary = primary
        self._replica = replica
        self._timeout = connect_timeout
        self._clock = clock
        self._replica_down_until = 0.0

    async def session(self) -> AsyncSession:
        """A session whose queries go to the replica, or to the primary as the fallback."""
        if self._replica is None or self._clock() < self._replica_down_until:
            return self._primary()
        session = self._replica()
        try:
            async with asyncio.timeout(self._timeout):
                await session.connection()
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            await session.close()
            self._replica_down_until = self._clock() + REPLICA_RETRY_SECONDS
            logger.warning(
                "read replica unavailable, reading from the primary",
                error=str(exc) or type(exc).__name__,
                retry_in_seconds=REPLICA_RETRY_SECONDS,
            )
            return self._primary()
        return session


class Sessions:
    """Units of work for use cases (`items.unit_of_work`): each opens its own, a cache hit none.

    `write()` is one transaction on the primary: committed when the block ends, rolled back
    if it raises, so a change and its events are stored together or not at all. `read()`
    goes to the replica while it answers (see ReadRouter) and never commits.
    """

    def __init__(self, primary: async_sessionmaker[AsyncSession], reader: ReadRouter) -> None:
        self._primary = primary
        self._reader = reader

    @asynccontextmanager
    async def write(self) -> AsyncIterator[SqlUnitOfWork]:
        """A unit of work in a transaction on the primary."""
        async with self._primary.begin() as session:
            yield SqlUnitOfWork(session)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[SqlReadUnit]:
        """A read-only unit on the replica, or on the primary as the fallback."""
        async with await self._reader.session() as session:
            yield SqlReadUnit(session)
