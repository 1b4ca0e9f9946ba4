from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.infrastructure.redis_cache import (
    RedisCache,
    data_source,
    namespace,
)
from {{ cookiecutter.package_name }}.items.cursor import CursorCodec
from {{ cookiecutter.package_name }}.items.models import ItemRecord
from {{ cookiecutter.package_name }}.items.service import RECORD_FORMAT, ItemService, record_format
from {{ cookiecutter.package_name }}.settings import Settings
from tests.clients import app_client
from tests.fakes import FakeUnitsOfWork, HeldFirstWrite
from tests.test_items_update_service import slow_reader_race

REDIS_URL = os.environ.get("TEST_REDIS_URL")


async def test_unreachable_redis_degrades_to_the_database(
    settings: Settings, bearer: dict[str, str]
) -> None:
    app = create_app(settings.model_copy(update={"redis_url": SecretStr("redis://127.0.0.1:1")}))
    async with app_client(app, bearer) as client:
        created = await client.post("/api/v2/items", json={"name": "a", "price_cents": 1})
        response = await client.get(f"/api/v2/items/{created.json()['id']}")
        ready = await client.get("/readyz")
    assert response.status_code == 200
    assert ready.status_code == 200
    assert ready.json()["checks"]["cache"] == "degraded"


@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set")
async def test_round_trip_with_ttl_against_real_redis() -> None:
    client = Redis.from_url(str(REDIS_URL))
    cache = RedisCache(client, ttl_seconds=30, prefix="test:")
    try:
        await cache.set("k", b"v")
        assert await cache.get("k") == b"v"
        assert 0 < await client.ttl("test:k") <= 30
        assert await cache.ping()
        await cache.delete("k")
        assert await cache.get("k") is None
    finally:
        await cache.close()


def test_keys_name_the_database_but_not_its_credentials() -> None:
    base = "postgresql+asyncpg://{}@db:5432/{}"
    same = {data_source(base.format("u:one", "app")), data_source(base.format("v:two", "app"))}
    assert len(same) == 1  # a rotated password (or another role) reads the same rows
    assert data_source(base.format("u:one", "other")) not in same
    assert data_source("postgresql+asyncpg://u@db:5433/app") not in same
    assert "one" not in namespace(
        Settings(_env_file=None, database_url=base.format("u:one", "app"))
    )


def test_keys_change_with_the_cached_shape() -> None:
    @dataclass(frozen=True, slots=True)
    class Wider(ItemRecord):
        currency: str

    assert record_format(Wider) != RECORD_FORMAT
    assert record_format(ItemRecord) == RECORD_FORMAT


@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set")
async def test_two_databases_sharing_redis_never_see_each_others_items(
    settings: Settings, replica_url: str, bearer: dict[str, str]
) -> None:
    other = settings.model_copy(update={"database_url": SecretStr(replica_url)})
    names: dict[str, list[str]] = {}
    try:
        for name, app_settings in (("first", settings), ("second", other)):
            async with app_client(create_app(app_settings), bearer, base_url="http://t") as client:
                created = await client.post("/api/v2/items", json={"name": name, "price_cents": 1})
                assert created.json()["id"] == 1  # the same id in both databases
                # The first read fills the cache, the second is served from it.
                reads = [await client.get("/api/v2/items/1") for _ in range(2)]
                names[name] = [read.json()["name"] for read in reads]
    finally:
        async with Redis.from_url(str(REDIS_URL)) as redis:
            async for key in redis.scan_iter(match=f"{namespace(other)}*"):
                await redis.delete(key)
    assert names == {"first": ["first", "first"], "second": ["second", "second"]}


@pytest.fixture
async def real_cache() -> AsyncIterator[RedisCache]:
    """A RedisCache on TEST_REDIS_URL under a prefix of its own, emptied afterwards."""
    if not REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set")
    client = Redis.from_url(REDIS_URL)
    prefix = f"test:{secrets.token_hex(4)}:"
    cache = RedisCache(client, ttl_seconds=30, prefix=prefix)
    yield cache
    async for key in client.scan_iter(match=f"{prefix}*"):
        await client.delete(key)
    await cache.close()


async def test_redis_keeps_the_newest_version_it_was_given(real_cache: RedisCache) -> None:
    await real_cache.set_if_newer("k", b"v2", 2)
    await real_cache.set_if_newer("k", b"v1", 1)  # a slower reader's older copy
    assert await real_cache.get("k") == b"v2"
    await real_cache.set_if_newer("k", b"v2'", 2)  # the same version again: the same item
    assert await real_cache.get("k") == b"v2'"
    await real_cache.set_if_newer("k", b"v:3", 3)
    assert await real_cache.get("k") == b"v:3"
    await real_cache.set("k", b"plain")  # a value of no version: any version replaces it
    await real_cache.set_if_newer("k", b"v1", 1)
    assert await real_cache.get("k") == b"v1"


async def test_a_slow_reader_never_puts_back_in_redis_the_version_an_update_replaced(
    real_cache: RedisCache,
) -> None:
    held = HeldFirstWrite(real_cache)
    service = ItemService(FakeUnitsOfWork(), held, CursorCodec(b"test secret"))
    after = await slow_reader_race(service, held)
    assert after.version == 2
