"""Fixtures: a migrated database per test (SQLite, or PostgreSQL via TEST_DATABASE_URL).

Tests never touch a database they did not create: TEST_DATABASE_URL (and
TEST_DATABASE_REPLICA_URL) only locate a server, on which the run creates its own databases and
drops them at its end. Every test runs without the caller's settings variables and `.env`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from httpx import AsyncClient
from scripts.local_idp import AUDIENCE, LocalIdentityProvider, local_identity_provider
from sqlalchemy import URL, make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.settings import Settings
from tests.cache import cache_overrides, forget_cached_entries  # noqa: F401 - autouse fixture
from tests.clients import app_client

# The use-case tests' fixtures: the item service over in-memory fakes.
pytest_plugins = ("tests.use_cases",)

ROOT = Path(__file__).resolve().parent.parent
# Every variable `Settings` would read (pydantic-settings matches names case-insensitively).
SETTINGS_VARIABLES = frozenset(
    f"{Settings.model_config.get('env_prefix', '')}{name}".lower() for name in Settings.model_fields
)


def alembic_config(url: str) -> Config:
    """Alembic config for the project's migrations against an explicit URL."""
    config = Config(ROOT / "alembic.ini")
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["configure_logger"] = False
    return config


@pytest.fixture(autouse=True)
def _isolated_from_the_caller(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No settings variable of the caller (an exported DATABASE_URL...) and no `.env` apply."""
    for name in list(os.environ):
        if name.lower() in SETTINGS_VARIABLES:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


class ThrowawayDatabases:
    """Databases this run creates on PostgreSQL servers, all dropped when the run ends."""

    def __init__(self) -> None:
        self._made: list[tuple[URL, str]] = []  # (server as given, database made there)

    def create(self, server: str, purpose: str) -> str:
        """A new empty database on the server `server` locates; its own database is unused."""
        url = make_url(server)
        if not url.drivername.startswith("postgres"):
            raise pytest.UsageError(f"{purpose} must be a postgresql:// URL, not {url.drivername}")
        url = url.set(drivername="postgresql+asyncpg")
        name = f"{(url.database or url.username or 'postgres')[:40]}_test_{secrets.token_hex(4)}"
        asyncio.run(_admin(url, f'CREATE DATABASE "{name}"'))
        self._made.append((url, name))
        return url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        """Drop every database this run made (WITH FORCE: a failed test may leave sessions)."""
        for server, name in self._made:
            asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(url: URL, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def throwaway_databases() -> Iterator[ThrowawayDatabases]:
    """The run's own databases; see `ThrowawayDatabases`."""
    databases = ThrowawayDatabases()
    yield databases
    databases.drop_all()


def migrated(url: str) -> Iterator[str]:
    """Upgrade to head for one test, then back to an empty database for the next."""
    config = alembic_config(url)
    command.upgrade(config, "head")
    yield url
    command.downgrade(config, "base")


@pytest.fixture(scope="session")
def _primary_on_server(throwaway_databases: ThrowawayDatabases) -> str | None:
    server = os.environ.get("TEST_DATABASE_URL")
    return throwaway_databases.create(server, "TEST_DATABASE_URL") if server else None


@pytest.fixture(scope="session")
def _replica_on_server(throwaway_databases: ThrowawayDatabases) -> str | None:
    server = os.environ.get("TEST_DATABASE_REPLICA_URL")
    return throwaway_databases.create(server, "TEST_DATABASE_REPLICA_URL") if server else None


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head per run, copied for each test: migrating each test's
    own file cost about 0.1 s a test, a third of the suite's time."""
    path = tmp_path_factory.mktemp("migrated") / "head.db"
    command.upgrade(alembic_config(f"sqlite+aiosqlite:///{path}"), "head")
    return path


def sqlite_copy(migrated_file: Path, target: Path) -> str:
    """A copy of the migrated file (SQLite's backup API: consistent even with a WAL)."""
    with (
        closing(sqlite3.connect(migrated_file)) as source,
        closing(sqlite3.connect(target)) as copy,
    ):
        source.backup(copy)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
def database_url(
    _primary_on_server: str | None, _migrated_sqlite: Path, tmp_path: Path
) -> Iterator[str]:
    """Migrated database: the run's own on the TEST_DATABASE_URL server, else a SQLite file."""
    if _primary_on_server:
        yield from migrated(_primary_on_server)
    else:
        yield sqlite_copy(_migrated_sqlite, tmp_path / "test.db")


@pytest.fixture
def replica_url(
    _replica_on_server: str | None, _migrated_sqlite: Path, tmp_path: Path
) -> Iterator[str]:
    """A second migrated database standing in for a read replica (no replication needed to
    prove routing): the run's own on the TEST_DATABASE_REPLICA_URL server, else SQLite."""
    if _replica_on_server:
        yield from migrated(_replica_on_server)
    else:
        yield sqlite_copy(_migrated_sqlite, tmp_path / "replica.db")


@pytest.fixture(scope="session")
def identity_provider() -> Iterator[LocalIdentityProvider]:
    """The run's identity provider, whose tokens every app of the tests accepts."""
    with local_identity_provider() as provider:
        yield provider


@pytest.fixture
def settings(database_url: str, identity_provider: LocalIdentityProvider) -> Settings:
    """Settings for one test, independent of the developer's environment and `.env`."""
    return Settings(
        _env_file=None,
        environment="test",
        oidc_issuer=identity_provider.issuer,
        oidc_audience=AUDIENCE,
        database_url=database_url,
        alembic_config=ROOT / "alembic.ini",  # tests run in tmp_path, away from any `.env`
        **cache_overrides(),  # type: ignore[arg-type]  # fields of the generated cache option
    )


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    """A fresh app per test."""
    return create_app(settings)


@pytest.fixture
def bearer(identity_provider: LocalIdentityProvider) -> dict[str, str]:
    """The `Authorization` header of a token with every scope."""
    return {"Authorization": f"Bearer {identity_provider.token()}"}


@pytest.fixture
async def client(app: FastAPI, bearer: dict[str, str]) -> AsyncIterator[AsyncClient]:
    """HTTP client over ASGI, with the app's lifespan (and its state) running.

    It sends a token with every scope; tests/test_auth.py covers requests without one.
    """
    async with app_client(app, bearer) as http:
        yield http
