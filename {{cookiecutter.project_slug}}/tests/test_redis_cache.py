from __future__ import annotations

import os

import pytest
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient
from pydantic import SecretStr
from redis.asyncio import Redis

from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.infrastructure.redis_cache import RedisCache
from {{ cookiecutter.package_name }}.settings import Settings

REDIS_URL = os.environ.get("TEST_REDIS_URL")


async def test_unreachable_redis_degrades_to_the_database(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"redis_url": SecretStr("redis://127.0.0.1:1")}))
    async with (
        LifespanManager(app) as manager,
        AsyncClient(transport=ASGITransport(app=manager.app), base_url="http://test") as client,
    ):
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
