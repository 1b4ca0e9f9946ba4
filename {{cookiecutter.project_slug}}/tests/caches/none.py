"""No cache server in tests: nothing to point at, nothing to clean up."""

from __future__ import annotations

import pytest

__all__ = ["CACHE_STATES", "UNREACHABLE", "cache_overrides", "forget_cached_entries"]

UNREACHABLE: dict[str, object] = {}
CACHE_STATES = frozenset({None})  # /readyz reports no cache check at all


def cache_overrides() -> dict[str, object]:
    """No cache settings to override."""
    return {}


@pytest.fixture(autouse=True)
def forget_cached_entries() -> None:
    """Nothing is cached, so nothing outlives a test."""
