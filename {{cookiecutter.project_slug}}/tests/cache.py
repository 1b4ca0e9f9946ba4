"""Test support of the cache this service was generated with ({{ cookiecutter.cache }})."""

from __future__ import annotations

from tests.caches.{{ cookiecutter.cache }} import (
    CACHE_STATES,
    UNREACHABLE,
    cache_overrides,
    forget_cached_entries,
)

__all__ = ["CACHE_STATES", "UNREACHABLE", "cache_overrides", "forget_cached_entries"]
