"""Is the database schema recent enough for this build? What `/startupz` waits for.

The chart's migration Job runs `alembic upgrade head` before new pods start; a pod that came
up on an older schema would fail on its first query of a new column. The expected revision is
read once at start-up from the migrations shipped beside the build (`alembic.ini`, as the
Job reads it), never hard-coded, so a new migration cannot be forgotten here.

The revision files are read with `ast`, not through alembic's ScriptDirectory: importing alembic
pulls in every SQL dialect it supports, about a fifth of the app's import time, on the path to
ready. `tests/test_startup.py` checks both give the same heads.
"""

from __future__ import annotations

import ast
from configparser import ConfigParser
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

VERSION_TABLE = "alembic_version"  # alembic's default; migrations/env.py keeps it


class MigrationsNotFoundError(RuntimeError):
    """The build's migrations are not where ALEMBIC_CONFIG points: start-up cannot check."""


@dataclass(frozen=True, slots=True)
class SchemaTarget:
    """The head revision(s) of this build's migrations, and every revision it knows."""

    heads: frozenset[str]
    known: frozenset[str]

    @classmethod
    def from_alembic_config(cls, path: Path) -> SchemaTarget:
        """Read `script_location`'s `versions/` once (start-up, not per request)."""
        if not path.is_file():
            msg = f"ALEMBIC_CONFIG={path} not found (cwd-relative): /startupz needs the migrations"
            raise MigrationsNotFoundError(msg)
        config = ConfigParser(defaults={"here": str(path.resolve().parent)})
        config.read(path)
        versions = Path(config.get("alembic", "script_location")) / "versions"
        parents = dict(revision_of(file) for file in sorted(versions.glob("*.py")))
        known = frozenset(parents)
        referenced = {parent for down in parents.values() for parent in down}
        return cls(heads=known - referenced, known=known)

    def reached_by(self, current: frozenset[str]) -> bool:
        """At this build's heads, or past them.

        A revision this build does not know was written by a newer release (expand/contract
        migrations keep the schema readable by the previous build), so a rollback's pods start;
        no revision, or an older one this build knows, means the migrations have not run yet.
        """
        if not current:
            return False
        return current == self.heads or not current <= self.known


def revision_of(file: Path) -> tuple[str, tuple[str, ...]]:
    """A revision file's `revision` and `down_revision` parents (literals, as alembic writes)."""
    values: dict[str, object] = {}
    for node in ast.parse(file.read_text(), str(file)).body:
        names: list[ast.expr]
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            names, value = [node.target], node.value
        elif isinstance(node, ast.Assign):
            names, value = node.targets, node.value
        else:
            continue
        for name in names:
            if isinstance(name, ast.Name) and name.id in {"revision", "down_revision"}:
                values[name.id] = ast.literal_eval(value)
    down = values.get("down_revision")
    parents = (down,) if isinstance(down, str) else tuple(down or ())  # type: ignore[arg-type]
    return str(values["revision"]), tuple(str(p) for p in parents)


async def current_revisions(engine: AsyncEngine) -> frozenset[str]:
    """The revision(s) in the database's `alembic_version` table (none before migrating)."""

    def read(connection: Connection) -> frozenset[str]:
        if not inspect(connection).has_table(VERSION_TABLE):
            return frozenset()
        rows = connection.execute(text("SELECT version_num FROM alembic_version"))
        return frozenset(rows.scalars())

    async with engine.connect() as connection:
        return await connection.run_sync(read)
