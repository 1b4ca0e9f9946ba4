"""The process-wide resources, as request handlers see them (built by `lifespan.py`).

Apart from the lifespan that builds them, so the HTTP layer (`api.deps`) reads their type
without importing the composition root.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from {{ cookiecutter.package_name }}.auth.tokens import TokenVerifier
from {{ cookiecutter.package_name }}.cache import Cache, CacheCheck
from {{ cookiecutter.package_name }}.db.engine import Sessions
from {{ cookiecutter.package_name }}.db.schema import SchemaTarget
from {{ cookiecutter.package_name }}.infrastructure.limiter import RateLimiter
from {{ cookiecutter.package_name }}.settings import Settings


@dataclass(slots=True)
class Resources:
    """What request handlers may use; reached through `api.deps`, never through globals."""

    settings: Settings
    engine: AsyncEngine
    sessions: Sessions
    cache: Cache
    schema: SchemaTarget
    cache_check: CacheCheck | None = None
    verifier: TokenVerifier | None = None  # None: authentication off (ENVIRONMENT=local only)
    rate_limiter: RateLimiter | None = None  # None: no RATE_LIMIT (api/rate_limit.py is off)
    started: bool = False  # latched by /startupz once the schema is at this build's head
