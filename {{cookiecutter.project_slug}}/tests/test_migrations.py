from __future__ import annotations

import asyncio

from alembic import command
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import alembic_config


def table_names(url: str) -> set[str]:
    async def names() -> set[str]:
        engine = create_async_engine(url)
        async with engine.connect() as connection:
            found = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        await engine.dispose()
        return found

    return asyncio.run(names())


def test_migrations_round_trip_without_drift(database_url: str) -> None:
    config = alembic_config(database_url)
    command.check(config)  # the models match the migrations
    command.downgrade(config, "base")
    assert "items" not in table_names(database_url)
    command.upgrade(config, "head")
    assert "items" in table_names(database_url)
