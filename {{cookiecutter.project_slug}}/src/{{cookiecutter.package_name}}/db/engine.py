"""Async engine and session factory built from settings; the one place pool sizing lives."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from {{ cookiecutter.package_name }}.settings import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    """Create the engine.

    Each worker process has its own pool: (pool_size + max_overflow) x WEB_CONCURRENCY x replicas
    must stay below the server's max_connections (or the pooler's limit).
    """
    url = settings.database_url.get_secret_value()
    if settings.is_sqlite:
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
        pool_pre_ping=True,
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
