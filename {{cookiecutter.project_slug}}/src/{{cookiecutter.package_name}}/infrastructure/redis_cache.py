"""Redis adapter for the cache port; an outage degrades to misses, never to errors."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import make_url

from {{ cookiecutter.package_name }}.cache import Cache, CacheCheck

if TYPE_CHECKING:  # the root Settings composes CacheSettings: a runtime import would cycle
    from {{ cookiecutter.package_name }}.settings import Settings

logger = structlog.get_logger(__name__)
SOCKET_TIMEOUT = 0.25  # seconds: a slow cache must not be slower than the database it spares
# An entry is `<version>:<value>` (`:<value>` when stored by `set`): the script below compares
# versions where it writes, in Redis, and a read is still one GET (the prefix is cut here).
SEPARATOR = b":"
SET_IF_NEWER = """
local held = tonumber(string.match(redis.call('GETRANGE', KEYS[1], 0, 19), '^(%d+):'))
if held and held > tonumber(ARGV[2]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
"""


class CacheSettings(BaseSettings):
    """REDIS_URL and CACHE_TTL_SECONDS; read by the root Settings."""

    redis_url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    cache_ttl_seconds: int = Field(default=300, ge=1)


def data_source(database_url: str) -> str:
    """Short stable id of the database a process reads: driver, host, port and database name.

    Never the credentials: rotating a password must not empty the cache, nor show in keys.
    """
    url = make_url(database_url)
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database not in ("", ":memory:"):
        database = str(Path(database).resolve())
    identity = f"{url.drivername}|{url.host or ''}|{url.port or ''}|{database}"
    return hashlib.sha256(identity.encode()).hexdigest()[:12]


def namespace(settings: Settings) -> str:
    """`<service>:<data source>:`: processes share entries only when they read one database."""
    return f"{settings.service_name}:{data_source(settings.database_url.get_secret_value())}:"


class RedisCache:
    """Cache-aside store with a TTL; keys are namespaced by service and database (`namespace`)."""

    def __init__(self, client: Redis, ttl_seconds: int, prefix: str) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._prefix = prefix
        self._set_if_newer = client.register_script(SET_IF_NEWER)

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisCache:
        """Client with short timeouts; connections are opened lazily on first use."""
        client = Redis.from_url(
            settings.redis_url.get_secret_value(),
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT,
        )
        return cls(client, settings.cache_ttl_seconds, namespace(settings))

    async def get(self, key: str) -> bytes | None:
        """Cached bytes, or None on a miss or when Redis is unreachable."""
        try:
            value = await self._client.get(self._prefix + key)
        except (RedisError, OSError) as exc:
            logger.warning("cache unavailable, reading from the database", error=str(exc))
            return None
        if not isinstance(value, bytes):
            return None
        return value.partition(SEPARATOR)[2]

    async def set(self, key: str, value: bytes) -> None:
        """Store with TTL, of no version; failures are logged and ignored."""
        try:
            await self._client.set(self._prefix + key, SEPARATOR + value, ex=self._ttl)
        except (RedisError, OSError) as exc:
            logger.warning("cache unavailable, not caching", error=str(exc))

    async def set_if_newer(self, key: str, value: bytes, version: int) -> None:
        """Store with TTL unless Redis holds a newer version; one round trip (EVALSHA)."""
        entry = b"%d%b%b" % (version, SEPARATOR, value)
        try:
            await self._set_if_newer(keys=[self._prefix + key], args=[entry, version, self._ttl])
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


@asynccontextmanager
async def open_cache(settings: Settings) -> AsyncIterator[tuple[Cache, CacheCheck | None]]:
    """The process's cache and its readiness check, closed at shutdown."""
    cache = RedisCache.from_settings(settings)
    try:
        yield cache, cache.ping
    finally:
        await cache.close()


def instrument_cache_client(provider: TracerProvider) -> None:
    """Client spans for Redis calls (observability/tracing.py decides whether to trace)."""
    RedisInstrumentor().instrument(tracer_provider=provider)


def uninstrument_cache_client() -> None:
    """Undo the Redis client patch."""
    RedisInstrumentor().uninstrument()
