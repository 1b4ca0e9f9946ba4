"""Is the database schema recent enough for this build? What `/startupz` waits for.

The chart's migration Job runs `alembic upgrade head` before new pods start; a pod that came
up on an older schema would fail on its first query of a new column. The expected revision is
read once at start-up from the migrations shipped beside the build (`alembic.ini`, as the
Job reads it), never hard-coded, so a new migration cannot be forgotten here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine


class MigrationsNotFoundError(RuntimeError):
    """The build's migrations are not where ALEMBIC_CONFIG points: start-up cannot check."""


@dataclass(frozen=True, slots=True)
class SchemaTarget:
    """The head revision(s) of this build's migrations, and every revision it knows."""

    heads: frozenset[str]
    known: frozenset[str]

    @classmethod
    def from_alembic_config(cls, path: Path) -> SchemaTarget:
        """Read the revision graph once (it imports each revision file: not per request)."""
        if not path.is_file():
            msg = f"ALEMBIC_CONFIG={path} not found (cwd-relative): /startupz needs the migrations"
            raise MigrationsNotFoundError(msg)
        script = ScriptDirectory.from_config(Config(path))
        known = frozenset(rev.revision for rev in script.walk_revisions())
        return cls(heads=frozenset(script.get_heads()), known=known)

    def reached_by(self, current: frozenset[str]) -> bool:
        """At this build's heads, or past them.

        A revision this build does not know was written by a newer release (expand/contract
        migrations keep the schema readable by the previous build), so a rollback's pods start;
        no revision, or an older one this build knows, means the migrations have not run yet.
        """
        if not current:
            return False
        return current == self.heads or not current <= self.known


async def current_revisions(engine: AsyncEngine) -> frozenset[str]:
    """The revision(s) in the database's `alembic_version` table (none before migrating)."""

    def read(connection: Connection) -> frozenset[str]:
        return frozenset(MigrationContext.configure(connection).get_current_heads())

    async with engine.connect() as connection:
        return await connection.run_sync(read)
