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

{% if cookiecutter.messaging != "none" -%}
from {{ cookiecutter.package_name }}.db.base import utcnow
from {{ cookiecutter.package_name }}.db.engine import create_engine, create_sessionmaker
from {{ cookiecutter.package_name }}.events.outbox import OutboxRepository
{% else -%}
from {{ cookiecutter.package_name }}.db.engine import create_engine, create_sessionmaker
{% endif -%}
from {{ cookiecutter.package_name }}.items.repository import ItemRepository
from {{ cookiecutter.package_name }}.settings import Settings

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="EXPLAIN plans are checked on PostgreSQL (set TEST_DATABASE_URL)",
)
ROWS = 20_000

Query = Callable[[AsyncSession], Awaitable[object]]
QUERIES: dict[str, tuple[Query, str]] = {
    "v1 offset page": (lambda s: ItemRepository(s).list_offset(100, 21), "pk_items"),
    "v2 cursor page": (lambda s: ItemRepository(s).list_after(5_000, 21), "pk_items"),
{%- if cookiecutter.messaging != "none" %}
    "outbox relay batch": (
        lambda s: OutboxRepository(s).claim_pending(utcnow(), 100),
        "ix_outbox_events_status_id",
    ),
{%- endif %}
}


@pytest.mark.parametrize("name", QUERIES)
async def test_list_queries_use_an_index(settings: Settings, name: str) -> None:
    engine = create_engine(settings)
    sent: list[tuple[str, Any]] = []

    def capture(_conn: object, _cursor: object, statement: str, params: Any, *_: object) -> None:
        sent.append((statement, params))

    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO items (name, price_cents) "
                "SELECT 'item-' || g, g FROM generate_series(1, :n) AS g"
            ),
            {"n": ROWS},
        )
{%- if cookiecutter.messaging != "none" %}
        await connection.execute(
            text(
                "INSERT INTO outbox_events (event_id, event_type, payload, status, attempts, "
                "available_at, created_at) SELECT 'e-' || g, 'item.created', '{}', "
                "CASE WHEN g % 1000 = 0 THEN 'pending' ELSE 'sent' END, 0, now(), now() "
                "FROM generate_series(1, :n) AS g"
            ),
            {"n": ROWS},
        )
        await connection.execute(text("ANALYZE outbox_events"))
{%- endif %}
        await connection.execute(text("ANALYZE items"))
    query, index = QUERIES[name]
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
    assert f"Index Scan using {index}" in plan or f"Index Only Scan using {index}" in plan, plan
    assert "Seq Scan" not in plan, plan
