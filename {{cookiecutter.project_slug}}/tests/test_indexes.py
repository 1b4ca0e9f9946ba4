"""The list endpoints' queries are served by an index (EXPLAIN on PostgreSQL).

The statements are the ones the repositories really send, captured on the engine, on a table
large enough (and analysed) for the planner to choose between a scan and an index.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from {{ cookiecutter.package_name }}.db.engine import create_engine, create_sessionmaker
from {{ cookiecutter.package_name }}.items.repository import ItemRepository
from {{ cookiecutter.package_name }}.settings import Settings

ON_POSTGRESQL = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="EXPLAIN plans are checked on PostgreSQL (set TEST_DATABASE_URL)",
)
pytestmark = ON_POSTGRESQL
ROWS = 20_000
FILL_ITEMS = (
    "INSERT INTO items (name, price_cents) SELECT 'item-' || g, g FROM generate_series(1, :n) AS g"
)

Query = Callable[[AsyncSession], Awaitable[object]]
QUERIES: dict[str, tuple[Query, str]] = {
    "v1 offset page": (lambda s: ItemRepository(s).list_offset(100, 21), "pk_items"),
    "v2 cursor page": (lambda s: ItemRepository(s).list_after(5_000, 21), "pk_items"),
}


async def plan_of(settings: Settings, query: Query, fill: dict[str, str]) -> str:
    """EXPLAIN of the statement `query` sends, once each table has ROWS rows and is analysed."""
    engine = create_engine(settings)
    sent: list[tuple[str, Any]] = []

    def capture(_conn: object, _cursor: object, statement: str, params: Any, *_: object) -> None:
        sent.append((statement, params))

    async with engine.begin() as connection:
        for sql in fill.values():
            await connection.execute(text(sql), {"n": ROWS})
        for table in fill:
            await connection.execute(text(f"ANALYZE {table}"))
    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    async with create_sessionmaker(engine)() as session:
        await query(session)
    event.remove(engine.sync_engine, "before_cursor_execute", capture)
    statement, params = sent[-1]
    async with engine.connect() as connection:
        plan = "\n".join(
            row[0] for row in await connection.exec_driver_sql(f"EXPLAIN {statement}", params)
        )
    await engine.dispose()
    return plan


def assert_index_scan(plan: str, index: str) -> None:
    assert f"Index Scan using {index}" in plan or f"Index Only Scan using {index}" in plan, plan
    assert "Seq Scan" not in plan, plan


@pytest.mark.parametrize("name", QUERIES)
async def test_list_queries_use_an_index(settings: Settings, name: str) -> None:
    query, index = QUERIES[name]
    assert_index_scan(await plan_of(settings, query, {"items": FILL_ITEMS}), index)
