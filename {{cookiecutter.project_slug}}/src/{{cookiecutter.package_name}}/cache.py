"""Cache port: what the domain needs from a cache, and a no-op implementation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

# Readiness input of a cache server: False means degraded (reads still work), not unready.
CacheCheck = Callable[[], Awaitable[bool]]


class Cache(Protocol):
    """Best-effort byte cache: implementations swallow outages and report a miss instead."""

    async def get(self, key: str) -> bytes | None:
        """Return the cached value, or None on a miss or outage."""
        ...

    async def set(self, key: str, value: bytes) -> None:
        """Store a value with the implementation's TTL."""
        ...

    async def delete(self, key: str) -> None:
        """Invalidate a key."""
        ...

    async def set_if_newer(self, key: str, value: bytes, version: int) -> None:
        """Store the value of a version with the TTL, unless the entry holds a newer version.

        So a reader that read version 7 and stores it after a writer stored 8 changes nothing:
        compared and written in one step, in the cache server.
        """
        ...


class NullCache:
    """Cache that never hits: used when no cache is configured."""

    async def get(self, key: str) -> bytes | None:  # noqa: ARG002 - protocol signature
        """Always a miss."""
        return None

    async def set(self, key: str, value: bytes) -> None:
        """Store nothing."""

    async def delete(self, key: str) -> None:
        """Nothing to invalidate."""

    async def set_if_newer(self, key: str, value: bytes, version: int) -> None:
        """Store nothing."""
