"""The list endpoints' queries are served by an index (EXPLAIN on PostgreSQL).

The statements are the ones the repositories really send, captured on the engine, on a table
large enough (and analysed) for the planner to choose between a scan and an index.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from {{ cookiecutter.package_name }}.db.engine import create_engine, create_sessionmaker
from {{ cookiecutter.package_name }}.items.listing import (
    DEFAULT_LISTING,
    ItemFilter,
    ItemSort,
    Listing,
    Position,
    SortKey,
)
from {{ cookiecutter.package_name }}.items.repository import ItemRepository
from {{ cookiecutter.package_name }}.settings import Settings
from tests.conftest import ThrowawayDatabases, alembic_config

ON_POSTGRESQL = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="EXPLAIN plans are checked on PostgreSQL (set TEST_DATABASE_URL)",
)
pytestmark = ON_POSTGRESQL
ROWS = 20_000  # per table, for `plan_of`
LIST_ROWS = 100_000  # the items table the list queries are planned on, filled once
# Mixed-case names, prices repeating every 1000 rows (ties the id breaks), one creation time
# per second.
FILL_ITEMS = (
    "INSERT INTO items (name, price_cents, created_at, updated_at)"
    " SELECT CASE WHEN g % 2 = 0 THEN 'Item-' ELSE 'item-' END || g, (g * 7919) % 1000,"
    " t, t FROM generate_series(1, :n) AS g,"
    " LATERAL (SELECT timestamptz '2026-01-01' + g * interval '1 second') AS c(t)"
)
MIDDLE = 50_000
Query = Callable[[AsyncSession], Awaitable[object]]
BEFORE = datetime(2026, 1, 1, 12, tzinfo=UTC)  # row 43 200's creation time


def page(listing: Listing, after: Position | None = None) -> Query:
    """The statement one v2 page sends: 21 rows (limit 20, plus one to see the next page)."""
    return lambda session: ItemRepository(session).list_page(listing, after, 21)


def resumed(sort: ItemSort, key: SortKey, filters: ItemFilter = DEFAULT_LISTING.filters) -> Query:
    """A page after a position in the middle of the table."""
    listing = Listing(sort, filters)
    return page(listing, Position(sort, filters.fingerprint(), MIDDLE, key))


KEYS: dict[str, SortKey] = {
    "id": MIDDLE,
    "name": f"item-{MIDDLE}",
    "price_cents": 500,
    "created_at": BEFORE,
}
SORT_INDEX = {
    "id": "pk_items",
    "name": "ix_items_name_key",
    "price_cents": "ix_items_price_cents_id",
    "created_at": "ix_items_created_at_id",
}
QUERIES: dict[str, tuple[Query, *tuple[str, ...]]] = {
    "v1 offset page": (lambda s: ItemRepository(s).list_offset(100, 21), "pk_items"),
    "v2 first page": (page(DEFAULT_LISTING), "pk_items"),
    **{
        f"v2 sort={sort.value} after a cursor": (
            resumed(sort, KEYS[sort.field]),
            SORT_INDEX[sort.field],
        )
        for sort in ItemSort
    },
    # A prefix is a range of the name index, whatever the sort (few rows, sorted after).
    **{
        f"v2 name_prefix, sort={sort.value}": (
            page(Listing(sort, ItemFilter(name_prefix="ITEM-4321"))),
            "ix_items_name_key",
        )
        for sort in ItemSort
    },
    "v2 name_prefix, sort=name after a cursor": (
        resumed(ItemSort.NAME, "item-43210", ItemFilter(name_prefix="item-432")),
        "ix_items_name_key",
    ),
    # A narrow price range: a range of the price index; under another sort, the planner may
    # as well walk that sort's index and filter (0.2% of rows match).
    **{
        f"v2 price range, sort={sort.value}": (
            page(Listing(sort, ItemFilter(price_min=10, price_max=11))),
            "ix_items_price_cents_id",
            *(() if sort.field == "price_cents" else (SORT_INDEX[sort.field],)),
        )
        for sort in ItemSort
    },
    "v2 price range, sort=price_cents after a cursor": (
        resumed(ItemSort.PRICE, 500, ItemFilter(price_min=400, price_max=600)),
        "ix_items_price_cents_id",
    ),
}


async def plan_of(settings: Settings, query: Query, fill: dict[str, str]) -> str:
    """EXPLAIN of the statement `query` sends, once each table has ROWS rows and is analysed."""
    engine = create_engine(settings)
    await filled(engine, fill, ROWS)
    plan = await explain(engine, query)
    await engine.dispose()
    return plan


async def filled(engine: AsyncEngine, fill: dict[str, str], rows: int) -> None:
    """Fill each table with `rows` rows (one INSERT ... generate_series) and analyse it."""
    async with engine.begin() as connection:
        for sql in fill.values():
            await connection.execute(text(sql), {"n": rows})
        for table in fill:
            await connection.execute(text(f"ANALYZE {table}"))


async def explain(engine: AsyncEngine, query: Query) -> str:
    """The plan of the last statement `query` sends, with its parameters."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: object, _cursor: object, statement: str, params: Any, *_: object) -> None:
        sent.append((statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    async with create_sessionmaker(engine)() as session:
        await query(session)
    event.remove(engine.sync_engine, "before_cursor_execute", capture)
    statement, params = sent[-1]
    async with engine.connect() as connection:
        result = await connection.exec_driver_sql(f"EXPLAIN {statement}", params)
        return "\n".join(row[0] for row in result)


def assert_index_scan(plan: str, *indexes: str) -> None:
    """One of `indexes` is scanned (either way, or for a bitmap), and no table is scanned whole."""
    scans = {f"{kind} {index}" for kind in SCANS for index in indexes}
    assert any(scan in plan for scan in scans), plan
    assert "Seq Scan" not in plan, plan


SCANS = (
    "Index Scan using",
    "Index Scan Backward using",
    "Index Only Scan using",
    "Index Only Scan Backward using",
    "Bitmap Index Scan on",
)


@pytest.fixture(scope="module")
def big_items(throwaway_databases: ThrowawayDatabases) -> str:
    """A database of this module's own, migrated, with LIST_ROWS items: filled once."""
    url = throwaway_databases.create(os.environ["TEST_DATABASE_URL"], "TEST_DATABASE_URL")
    command.upgrade(alembic_config(url), "head")

    async def fill() -> None:
        engine = create_async_engine(url, poolclass=NullPool)
        await filled(engine, {"items": FILL_ITEMS}, LIST_ROWS)
        await engine.dispose()

    asyncio.run(fill())
    return url


@pytest.fixture
async def big_engine(big_items: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(big_items, poolclass=NullPool)
    yield engine
    await engine.dispose()


@pytest.mark.parametrize("name", QUERIES)
async def test_list_queries_use_an_index(big_engine: AsyncEngine, name: str) -> None:
    query, *indexes = QUERIES[name]
    assert_index_scan(await explain(big_engine, query), *indexes)


async def test_the_name_index_orders_by_code_point(big_engine: AsyncEngine) -> None:
    """`alembic check` cannot see an index's collation (PostgreSQL's reflection omits it)."""
    async with big_engine.connect() as connection:
        definition = await connection.scalar(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_items_name_key'")
        )
    assert definition is not None
    assert definition.endswith('(lower((name)::text) COLLATE "C", id)'), definition
