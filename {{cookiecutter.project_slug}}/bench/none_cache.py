"""P's cache with cache=none: nothing, every read is a primary-key read."""

from __future__ import annotations


async def get(_key: str) -> bytes | None:
    """Always a miss."""
    return None


async def put(_key: str, _value: str) -> None:
    """Store nothing."""


async def forget(_key: str) -> None:
    """Nothing stored, nothing to drop."""


async def close() -> None:
    """Nothing to release."""
