"""P's cache with cache=redis: the client a developer would call by hand (BENCH_REDIS_URL)."""

from __future__ import annotations

import os

from redis.asyncio import Redis

TTL_SECONDS = 300
client = Redis.from_url(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))


async def get(key: str) -> bytes | None:
    """Cache-aside read, as the service does it."""
    value = await client.get(key)
    return value if isinstance(value, bytes) else None


async def put(key: str, value: str) -> None:
    """Store with the service's default TTL."""
    await client.set(key, value, ex=TTL_SECONDS)


async def forget(key: str) -> None:
    """Drop a changed item's entry."""
    await client.delete(key)


async def close() -> None:
    """Release the client's connections at shutdown."""
    await client.aclose()
