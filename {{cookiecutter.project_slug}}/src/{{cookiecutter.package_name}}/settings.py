"""Typed settings, read once from the environment (and `.env`) and validated at start-up."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from {{ cookiecutter.package_name }}.auth.settings import AuthSettings
{% if cookiecutter.messaging != "none" -%}
from {{ cookiecutter.package_name }}.events.settings import EventsSettings
{% endif -%}
from {{ cookiecutter.package_name }}.idempotency.settings import IdempotencySettings
from {{ cookiecutter.package_name }}.infrastructure.limiter import RateLimitSettings
from {{ cookiecutter.package_name }}.infrastructure.{{ cookiecutter.cache }}_cache import CacheSettings

SQLITE_DRIVER = "sqlite+aiosqlite"
# Signs v2 page cursors; known to everyone, so refused with ENVIRONMENT=production.
DEV_CURSOR_SECRET = "development-only-cursor-secret-do-not-deploy"  # noqa: S105 - public on purpose  # nosec B105
MIN_SECRET_CHARS = 32
POSTGRES_DRIVER = "postgresql+asyncpg"


class Settings(
    {{ "EventsSettings,\n    " if cookiecutter.messaging != "none" else "" }}CacheSettings,
    RateLimitSettings,
    AuthSettings,
    IdempotencySettings,
    BaseSettings,
):
    """Every knob of the service; secrets are `SecretStr` so they never reach logs or reprs.

    Each feature's settings live next to its adapter (events/settings.py, infrastructure/).
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    service_name: str = "{{ cookiecutter.project_slug }}"
    environment: Literal["local", "test", "staging", "production"] = "local"

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    web_concurrency: int = Field(default=1, ge=1)
    graceful_timeout: int = Field(default=20, ge=1, description="Seconds to drain on SIGTERM.")

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"

    database_url: SecretStr = SecretStr(f"{SQLITE_DRIVER}:///./app.db")
    # Optional read replica: GET requests read from it, everything else uses the primary.
    database_replica_url: SecretStr | None = None
    # Per engine and per process: a pod opens up to (pool_size + max_overflow) x WEB_CONCURRENCY
    # connections to each server (see db/engine.py for the sizing rule).
    # 4 + 0: one process is bound by its one core long before 4 connections are (`make bench`:
    # pools of 2, 4 and 10 served the same req/s), and no overflow means no connection opened
    # and closed again under load.
    database_pool_size: int = Field(default=4, ge=1)
    database_max_overflow: int = Field(default=0, ge=0)
    database_pool_timeout: float = Field(default=5.0, gt=0)
    database_connect_timeout: float = Field(default=3.0, gt=0)
    # Off: a ping costs a round trip per checkout, and SQLAlchemy already drops the whole pool
    # on the first disconnect error, so after an outage one request fails, then all reconnect.
    database_pool_pre_ping: bool = False
    # The migrations this build ships (cwd-relative, the variable `alembic` itself reads):
    # /startupz answers 503 until the database schema reaches their head revision.
    alembic_config: Path = Path("alembic.ini")

    cors_origins: list[str] = Field(default_factory=list)
    # Probes and scrapes arrive every few seconds per pod: no span, and an access line only when
    # they fail (their metrics are kept). QUIET_PATHS='[]' logs and traces them like the rest.
    quiet_paths: list[str] = Field(
        default_factory=lambda: ["/livez", "/readyz", "/startupz", "/metrics"]
    )
    # Larger request bodies get 413 problem+json (api/limits.py); 1 MiB by default.
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    # HMAC key of the v2 page cursors (items/cursor.py); the same on every replica, and a new
    # one only invalidates the cursors clients hold (their next page is a 400, not wrong data).
    cursor_secret: SecretStr = SecretStr(DEV_CURSOR_SECRET)
    # Answered when the service was generated (by default: then, and a year later).
    api_v1_deprecated_on: date = date.fromisoformat("{{ cookiecutter.api_v1_deprecated_on }}")
    api_v1_sunset_on: date = date.fromisoformat("{{ cookiecutter.api_v1_sunset_on }}")

    @field_validator("database_url", "database_replica_url")
    @classmethod
    def _async_driver(cls, value: SecretStr | None) -> SecretStr | None:
        """Accept the usual `postgresql://` form but always run on the async driver."""
        if value is None:
            return None
        url = value.get_secret_value()
        for plain in ("postgresql://", "postgres://"):
            if url.startswith(plain):
                url = f"{POSTGRES_DRIVER}://{url.removeprefix(plain)}"
        if not url.startswith((f"{SQLITE_DRIVER}://", f"{POSTGRES_DRIVER}://")):
            raise ValueError(f"DATABASE_URL must use {SQLITE_DRIVER} or {POSTGRES_DRIVER}")
        return SecretStr(url)

    @model_validator(mode="after")
    def _production_needs_a_server(self) -> Settings:
        if self.environment == "production" and self.is_sqlite:
            raise ValueError("ENVIRONMENT=production needs a PostgreSQL DATABASE_URL")
        secret = self.cursor_secret.get_secret_value()
        if self.environment == "production" and (
            secret == DEV_CURSOR_SECRET or len(secret) < MIN_SECRET_CHARS
        ):
            raise ValueError(
                f"ENVIRONMENT=production needs a CURSOR_SECRET of its own "
                f"(at least {MIN_SECRET_CHARS} characters, e.g. `openssl rand -hex 32`)"
            )
        self._check_authentication()
        if self.api_v1_sunset_on <= self.api_v1_deprecated_on:
            raise ValueError("API_V1_SUNSET_ON must come after API_V1_DEPRECATED_ON")
        return self

    def _check_authentication(self) -> None:
        """Secure by default: only a developer's machine may serve without checking tokens."""
        if self.oidc_issuer is None and self.environment != "local":
            raise ValueError(
                f"ENVIRONMENT={self.environment} needs OIDC_ISSUER and OIDC_AUDIENCE (the identity "
                "provider whose tokens the service accepts); only ENVIRONMENT=local runs without"
            )
        if self.oidc_issuer is not None and self.oidc_audience is None:
            raise ValueError("OIDC_ISSUER needs OIDC_AUDIENCE: the `aud` the tokens must carry")
        if self.environment == "production" and not (self.oidc_issuer or "").startswith("https://"):
            raise ValueError("ENVIRONMENT=production needs an https:// OIDC_ISSUER")

    @property
    def docs_on(self) -> bool:
        """Whether /docs and /openapi.json are served (DOCS_ENABLED; unset: not in production)."""
        if self.docs_enabled is not None:
            return self.docs_enabled
        return self.environment != "production"

    @property
    def is_sqlite(self) -> bool:
        """SQLite needs different engine options (no pool sizing, no server timeouts)."""
        return self.database_url.get_secret_value().startswith(SQLITE_DRIVER)


@lru_cache
def get_settings() -> Settings:
    """Process-wide settings; tests build their own `Settings` instead."""
    return Settings()
