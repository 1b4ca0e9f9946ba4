"""`/startupz`: 503 until the database schema reaches the migrations this build ships.

Run on SQLite, or on PostgreSQL with TEST_DATABASE_URL (the `database_url` fixture creates
and migrates it; each test moves it with alembic, as the chart's migration Job would).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from asgi_lifespan import LifespanManager
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.db.schema import MigrationsNotFoundError, SchemaTarget
from {{ cookiecutter.package_name }}.settings import Settings
from tests.conftest import alembic_config


async def alembic(database_url: str, verb: str, revision: str) -> None:
    """`alembic upgrade|downgrade <revision>`; its env runs its own event loop, so in a thread."""
    await asyncio.to_thread(getattr(command, verb), alembic_config(database_url), revision)


async def test_startupz_is_503_until_the_schema_is_migrated(
    client: AsyncClient, database_url: str
) -> None:
    await alembic(database_url, "downgrade", "base")
    before = await client.get("/startupz")
    await alembic(database_url, "upgrade", "head")
    after = await client.get("/startupz")
    await alembic(database_url, "downgrade", "-1")
    latched = await client.get("/startupz")

    assert before.status_code == 503
    assert before.headers["content-type"] == "application/problem+json"
    assert before.json()["schema"]["database"] == []
    assert before.json()["schema"]["expected"]
    assert after.status_code == 200
    assert after.json() == {"status": "ok", "checks": {}}
    assert latched.status_code == 200, "a started pod stays started"


async def test_startupz_is_503_one_revision_behind(client: AsyncClient, database_url: str) -> None:
    await alembic(database_url, "downgrade", "-1")
    behind = await client.get("/startupz")
    await alembic(database_url, "upgrade", "head")
    current = await client.get("/startupz")

    assert behind.status_code == 503
    problem = behind.json()
    assert problem["schema"]["database"] != problem["schema"]["expected"]
    assert "alembic upgrade head" in problem["detail"]
    assert current.status_code == 200


async def test_startupz_accepts_a_newer_release_schema(
    client: AsyncClient, database_url: str
) -> None:
    """A rollback runs the previous build on the schema a newer release migrated."""
    engine = create_async_engine(database_url)
    stamp = text("UPDATE alembic_version SET version_num = :revision")
    async with engine.begin() as connection:
        head = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        await connection.execute(stamp, {"revision": "fromthefuture"})
    response = await client.get("/startupz")
    async with engine.begin() as connection:  # back to this build's head for the teardown
        await connection.execute(stamp, {"revision": head})
    await engine.dispose()

    assert response.status_code == 200


async def test_start_up_fails_clearly_without_the_migrations(tmp_path: Path) -> None:
    missing = tmp_path / "alembic.ini"
    settings = Settings(_env_file=None, alembic_config=missing)
    app = create_app(settings)
    with pytest.raises(MigrationsNotFoundError, match=f"ALEMBIC_CONFIG={missing} not found"):
        async with LifespanManager(app):
            pass


def test_revision_files_give_alembics_heads(tmp_path: Path) -> None:
    """The start-up reader agrees with alembic, on the project's migrations and on a merge."""
    from alembic.config import Config  # noqa: PLC0415 - only this test needs alembic's reader
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - as above

    project = alembic_config("sqlite://").config_file_name
    assert project is not None
    merged = tmp_path / "alembic.ini"
    merged.write_text("[alembic]\nscript_location = %(here)s/migrations\n")
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "migrations" / "script.py.mako").write_text("")
    graph = {"a": None, "b": "a", "c": "a", "m": ("b", "c"), "d": "m", "e": "d", "f": "d"}
    for revision, down in graph.items():
        body = f'"""{revision}"""\nrevision: str = {revision!r}\ndown_revision = {down!r}\n'
        (versions / f"{revision}.py").write_text(body)
    for path in (Path(project), merged):
        script = ScriptDirectory.from_config(Config(path))
        target = SchemaTarget.from_alembic_config(path)
        assert target.heads == frozenset(script.get_heads())
        assert target.known == frozenset(r.revision for r in script.walk_revisions())
    assert SchemaTarget.from_alembic_config(merged).heads == {"e", "f"}
