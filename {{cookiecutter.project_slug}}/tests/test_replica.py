"""Read replica routing: GET reads the replica, writes go to the primary, outages fall back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from pydantic import SecretStr
from sqlalchemy import URL, select
from structlog.testing import capture_logs

from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.db.engine import (
    REPLICA_RETRY_SECONDS,
    ReadRouter,
    create_engine,
    create_sessionmaker,
    for_reads,
)
from {{ cookiecutter.package_name }}.items.models import Item
from {{ cookiecutter.package_name }}.settings import Settings
from tests.clients import app_client


async def names_in(settings: Settings, url: str) -> list[str]:
    engine = create_engine(settings, url)
    async with create_sessionmaker(engine)() as session:
        found = list((await session.scalars(select(Item.name).order_by(Item.id))).all())
    await engine.dispose()
    return found


async def add_directly(settings: Settings, url: str, name: str) -> None:
    engine = create_engine(settings, url)
    async with create_sessionmaker(engine)() as session, session.begin():
        session.add(Item(name=name, price_cents=1))
    await engine.dispose()


@pytest.fixture
async def replica_client(
    settings: Settings, replica_url: str, bearer: dict[str, str]
) -> AsyncIterator[tuple[AsyncClient, FastAPI]]:
    app = create_app(settings.model_copy(update={"database_replica_url": SecretStr(replica_url)}))
    async with app_client(app, bearer) as client:
        yield client, app


async def test_get_reads_the_replica_and_writes_go_to_the_primary(
    replica_client: tuple[AsyncClient, FastAPI],
    settings: Settings,
    database_url: str,
    replica_url: str,
) -> None:
    client, _app = replica_client
    created = await client.post("/api/v2/items", json={"name": "on-primary", "price_cents": 1})
    assert created.status_code == 201  # the POST wrote and read back on the primary
    assert created.json()["name"] == "on-primary"
    # The stand-in replica has no replication, so what GET returns tells which one it read.
    await add_directly(settings, replica_url, "on-replica")
    listed = (await client.get("/api/v2/items")).json()["items"]
    assert [i["name"] for i in listed] == ["on-replica"]
    assert (await client.get("/api/v1/items")).json()["total"] == 1
    assert await names_in(settings, database_url) == ["on-primary"]
    assert await names_in(settings, replica_url) == ["on-replica"]
    # A DELETE is a write: it goes to the primary even for an id only the replica has.
    replica_only = listed[0]["id"] + 1000
    assert (await client.delete(f"/api/v2/items/{replica_only}")).status_code == 404


async def test_replica_outage_falls_back_to_the_primary(
    settings: Settings, bearer: dict[str, str]
) -> None:
    down = settings.model_copy(
        update={
            "database_replica_url": SecretStr("postgresql+asyncpg://postgres@127.0.0.1:1/none"),
            "database_connect_timeout": 0.5,
        }
    )
    app = create_app(down)
    with capture_logs() as logs:
        async with app_client(app, bearer) as c:
            await c.post("/api/v2/items", json={"name": "kept", "price_cents": 1})
            first = await c.get("/api/v2/items")
            second = await c.get("/api/v2/items")
    assert first.status_code == second.status_code == 200
    assert [i["name"] for i in second.json()["items"]] == ["kept"]
    warnings = [e for e in logs if e["event"].startswith("read replica unavailable")]
    assert len(warnings) == 1, "one warning per outage window, not one per request"


async def served_by(router: ReadRouter) -> URL:
    """The database a read connection of `router` is on, outside any transaction."""
    async with aclosing(await router.connect()) as connection:
        await connection.execute(select(1))
        driver = (await connection.get_raw_connection()).driver_connection
        # Autocommit: the driver never sent BEGIN (nor will it send ROLLBACK).
        if isinstance(driver, asyncpg.Connection):
            assert not driver.is_in_transaction()
        else:
            assert not driver.in_transaction  # type: ignore[union-attr] # aiosqlite's
        return connection.engine.url


async def test_router_retries_the_replica_after_the_window(
    settings: Settings, replica_url: str
) -> None:
    now = [0.0]
    engine = create_engine(settings)
    replica = create_engine(settings, replica_url)
    broken = create_engine(settings, "postgresql+asyncpg://postgres@127.0.0.1:1/none")
    router = ReadRouter(engine, broken, 0.5, clock=lambda: now[0])
    try:
        assert await served_by(router) == engine.url  # fell back
        router._replica = for_reads(replica)  # the replica recovers
        assert await served_by(router) == engine.url  # still inside the retry window
        now[0] = REPLICA_RETRY_SECONDS + 1
        assert await served_by(router) == replica.url
        assert await served_by(ReadRouter(engine, None, 0.5)) == engine.url
    finally:
        for each in (engine, replica, broken):
            await each.dispose()
