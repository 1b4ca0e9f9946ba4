"""Redis adapter for the cache port; an outage degrades to misses, never to errors."""

from __future__ import annotations

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from {{ cookiecutter.package_name }}.settings import Settings

logger = structlog.get_logger(__name__)
SOCKET_TIMEOUT = 0.25  # seconds: a slow cache must not be slower than the database it spares


class RedisCache:
    """Cache-aside store with a TTL; keys are namespaced by the service name."""

    def __init__(self, client: Redis, ttl_seconds: int, prefix: str) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._prefix = prefix

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisCache:
        """Client with short timeouts; connections are opened lazily on first use."""
        client = Redis.from_url(
            settings.redis_url.get_secret_value(),
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT,
        )
        return cls(client, settings.cache_ttl_seconds, f"{settings.service_name}:")

    async def get(self, key: str) -> bytes | None:
        """Cached bytes, or None on a miss or when Redis is unreachable."""
        try:
            value = await self._client.get(self._prefix + key)
        except (RedisError, OSError) as exc:
            logger.warning("cache unavailable, reading from the database", error=str(exc))
            return None
        return value if isinstance(value, bytes) else None

    async def set(self, key: str, value: bytes) -> None:
        """Store with TTL; failures are logged and ignored."""
        try:
            await self._client.set(self._prefix + key, value, ex=self._ttl)
        except (RedisError, OSError) as exc:
            logger.warning("cache unavailable, not caching", error=str(exc))

    async def delete(self, key: str) -> None:
        """Invalidate; the TTL bounds staleness if Redis is down now."""
        try:
            await self._client.delete(self._prefix + key)
        except (RedisError, OSError) as exc:
            logger.warning("cache unavailable, could not invalidate", error=str(exc))

    async def ping(self) -> bool:
        """Readiness input: False means degraded (reads still work), never not-ready."""
        try:
            return bool(await self._client.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        """Release connections at shutdown."""
        await self._client.aclose()
