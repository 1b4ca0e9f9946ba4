from __future__ import annotations

import asyncio

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
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


def test_row_versions_start_at_1_for_existing_items_and_leave_names_unique(
    database_url: str,
) -> None:
    config = alembic_config(database_url)
    command.downgrade(config, "0003")
    statements(database_url, "INSERT INTO items (name, price_cents) VALUES ('Cup', 1)")
    command.upgrade(config, "0004")
    assert statements(database_url, "SELECT name, version FROM items") == [("Cup", 1)]
    command.downgrade(config, "0003")  # and back: the row stays, without its version
    assert statements(database_url, "SELECT name FROM items") == [("Cup",)]
    with pytest.raises(IntegrityError):  # the lower(name) index survived the table copy
        statements(database_url, "INSERT INTO items (name, price_cents) VALUES ('cup', 2)")
    command.upgrade(config, "head")


def statements(url: str, *sql: str) -> list[tuple[object, ...]]:
    """Run statements in one transaction; the rows of the last."""

    async def run() -> list[tuple[object, ...]]:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as connection:
                for statement in sql:
                    result = await connection.execute(text(statement))
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())
