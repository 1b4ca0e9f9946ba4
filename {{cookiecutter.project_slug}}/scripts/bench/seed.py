"""The database (and cache) a run starts from: migrated, with SEED_ITEMS items."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from scripts.bench.processes import ROOT

SEED_ITEMS = 200_000  # more ids than one run requests, so a miss round never repeats an id


def seed(database_url: str) -> tuple[int, int]:
    """Migrate, then insert SEED_ITEMS items in one statement; return (first id, count)."""
    env = {**os.environ, "DATABASE_URL": database_url}
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"], cwd=ROOT, env=env, check=True
    )

    async def insert() -> tuple[int, int]:
        engine = create_async_engine(database_url)
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM items WHERE name LIKE 'bench-%'"))
            await connection.execute(
                text(
                    "INSERT INTO items (name, price_cents, created_at, updated_at) "
                    "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :n) "
                    "SELECT 'bench-' || n, n, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM g"
                ),
                {"n": SEED_ITEMS},
            )
            query = "SELECT min(id), count(*) FROM items WHERE name LIKE 'bench-%'"
            first, count = (await connection.execute(text(query))).one()
        await engine.dispose()
        return int(first), int(count)

    return asyncio.run(insert())

{%- if cookiecutter.cache == "redis" %}


def forget_cached_items(redis_url: str) -> None:
    """Ids restart with a new database: drop items C/P/O cached by an earlier run."""
    from redis import Redis  # noqa: PLC0415 - only the bench needs a synchronous client

    client = Redis.from_url(redis_url)
    for pattern in ("bench-p:items:*", "{{ cookiecutter.project_slug }}:items:*"):
        keys = list(client.scan_iter(match=pattern, count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    client.close()
{%- endif %}
