"""No cache server (generated with cache=none): every read goes to the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from pydantic_settings import BaseSettings

from {{ cookiecutter.package_name }}.cache import Cache, CacheCheck, NullCache

if TYPE_CHECKING:  # the root Settings composes CacheSettings: a runtime import would cycle
    from opentelemetry.sdk.trace import TracerProvider

    from {{ cookiecutter.package_name }}.settings import Settings


class CacheSettings(BaseSettings):
    """Nothing to configure without a cache server."""


@asynccontextmanager
async def open_cache(_settings: Settings) -> AsyncIterator[tuple[Cache, CacheCheck | None]]:
    """A cache that never hits, and no readiness check to make."""
    yield NullCache(), None


def instrument_cache_client(_provider: TracerProvider) -> None:
    """No cache client to trace."""


def uninstrument_cache_client() -> None:
    """No cache client was patched."""
