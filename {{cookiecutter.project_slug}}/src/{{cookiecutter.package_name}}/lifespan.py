"""Process-wide resources: created once at start-up, closed once at shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

{% if cookiecutter.cache == "redis" -%}
from {{ cookiecutter.package_name }}.cache import Cache
from {{ cookiecutter.package_name }}.db.engine import create_engine, create_sessionmaker
from {{ cookiecutter.package_name }}.infrastructure.redis_cache import RedisCache
{% else -%}
from {{ cookiecutter.package_name }}.cache import Cache, NullCache
from {{ cookiecutter.package_name }}.db.engine import create_engine, create_sessionmaker
{% endif -%}
from {{ cookiecutter.package_name }}.settings import Settings


@dataclass(slots=True)
class Resources:
    """What request handlers may use; reached through `api.deps`, never through globals."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    cache: Cache
    cache_check: Callable[[], Awaitable[bool]] | None = None
    started: bool = False


def lifespan_for(
    settings: Settings,
) -> Callable[[FastAPI], AbstractAsyncContextManager[dict[str, Resources]]]:
    """Build the lifespan for one settings object (the app factory passes its own)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Resources]]:
        engine = create_engine(settings)
{%- if cookiecutter.cache == "redis" %}
        redis_cache = RedisCache.from_settings(settings)
        resources = Resources(
            settings=settings,
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            cache=redis_cache,
            cache_check=redis_cache.ping,
        )
{%- else %}
        resources = Resources(
            settings=settings,
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            cache=NullCache(),
        )
{%- endif %}
        resources.started = True
        try:
            yield {"resources": resources}
        finally:
{%- if cookiecutter.cache == "redis" %}
            await redis_cache.close()
{%- endif %}
            await engine.dispose()

    return lifespan
