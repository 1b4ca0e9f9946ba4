"""Fixtures: a migrated database per test (SQLite, or PostgreSQL via TEST_DATABASE_URL)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
{%- if cookiecutter.cache == "redis" %}
from redis.asyncio import Redis
{%- endif %}

from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(url: str) -> Config:
    """Alembic config for the project's migrations against an explicit URL."""
    config = Config(ROOT / "alembic.ini")
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["configure_logger"] = False
    return config


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """Migrated database; TEST_DATABASE_URL selects a server, else a fresh SQLite file."""
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    config = alembic_config(url)
    command.upgrade(config, "head")
    yield url
    command.downgrade(config, "base")


@pytest.fixture
def replica_url(tmp_path: Path) -> Iterator[str]:
    """A second migrated database standing in for a read replica (no replication needed to
    prove routing): TEST_DATABASE_REPLICA_URL selects a server, else another SQLite file."""
    url = (
        os.environ.get("TEST_DATABASE_REPLICA_URL")
        or f"sqlite+aiosqlite:///{tmp_path / 'replica.db'}"
    )
    config = alembic_config(url)
    command.upgrade(config, "head")
    yield url
    command.downgrade(config, "base")


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings for one test, independent of the developer's environment and `.env`."""
    return Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
{%- if cookiecutter.cache == "redis" %}
        redis_url=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:1/0"),
{%- endif %}
    )


{% if cookiecutter.cache == "redis" -%}
@pytest.fixture(autouse=True)
async def _empty_cache() -> None:
    """Ids restart with each migrated database, so cached entries must not outlive a test."""
    if url := os.environ.get("TEST_REDIS_URL"):
        client = Redis.from_url(url)
        await client.flushdb()
        await client.aclose()


{% endif -%}
@pytest.fixture
def app(settings: Settings) -> FastAPI:
    """A fresh app per test."""
    return create_app(settings)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    """HTTP client over ASGI, with the app's lifespan (and its state) running."""
    async with (
        LifespanManager(app) as manager,
        AsyncClient(transport=ASGITransport(app=manager.app), base_url="http://test") as http,
    ):
        yield http
