"""Redis in tests: TEST_REDIS_URL (else an address nothing listens on), and clean-up."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from redis import Redis

from {{ cookiecutter.package_name }}.infrastructure.redis_cache import namespace
from {{ cookiecutter.package_name }}.settings import Settings

__all__ = ["CACHE_STATES", "UNREACHABLE", "cache_overrides", "forget_cached_entries"]

UNREACHABLE: dict[str, object] = {"redis_url": "redis://127.0.0.1:1/0"}
CACHE_STATES = frozenset({"ok", "degraded"})  # what /readyz may report for the cache


def cache_overrides() -> dict[str, object]:
    """The cache of the caller's TEST_REDIS_URL, else one that is down (reads still work)."""
    return {"redis_url": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:1/0")}


@pytest.fixture(autouse=True)
def forget_cached_entries(request: pytest.FixtureRequest) -> Iterator[None]:
    """Ids restart with each migrated database, so a test's cache entries must not outlive it.

    Only the keys of the test's own database go: the rest of TEST_REDIS_URL is not ours.
    """
    url = os.environ.get("TEST_REDIS_URL")
    if not url or "settings" not in request.fixturenames:
        yield
        return
    settings: Settings = request.getfixturevalue("settings")
    yield
    with Redis.from_url(url) as client:
        for key in client.scan_iter(match=f"{namespace(settings)}*"):
            client.delete(key)
