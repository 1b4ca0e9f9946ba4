"""The fake units of work keep the SQL's promises: one scenario, run on both.

tests/test_items_service.py trusts the fakes; this keeps them honest against SQLite, and against
PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import get_args, get_type_hints

import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from {{ cookiecutter.package_name }}.db.engine import (
    Checkout,
    ReadRouter,
    Sessions,
    create_engine,
    create_sessionmaker,
)
from {{ cookiecutter.package_name }}.errors import ConflictError
from {{ cookiecutter.package_name }}.items.listing import DEFAULT_LISTING
from {{ cookiecutter.package_name }}.items.models import MAX_ID, Item, ItemRecord
from {{ cookiecutter.package_name }}.items.repository import RECORD_COLUMNS, RecordRow
from {{ cookiecutter.package_name }}.items.unit_of_work import UnitsOfWork
from {{ cookiecutter.package_name }}.settings import Settings
from tests.fakes import FakeUnitsOfWork


class Abandoned(Exception):  # noqa: N818 - not an error: the block gives up on purpose
    """Raised inside a unit of work to abandon it."""


@pytest.fixture(params=["fake", "sql"])
def sql_settings(request: pytest.FixtureRequest) -> Settings | None:
    """Settings of a migrated database for the SQL run (outside the event loop: the database
    fixtures make PostgreSQL databases with asyncio.run), None for the fake."""
    return request.getfixturevalue("settings") if request.param == "sql" else None


@pytest.fixture
async def units(sql_settings: Settings | None) -> AsyncIterator[UnitsOfWork]:
    if sql_settings is None:
        yield FakeUnitsOfWork()
        return
    engine = create_engine(sql_settings)
    primary = create_sessionmaker(engine)
    reader = ReadRouter(engine, None, sql_settings.database_connect_timeout)
    yield Sessions(primary, reader, Checkout.for_pool(sql_settings))
    await engine.dispose()


def item(name: str) -> Item:
    return Item(name=name, description=None, price_cents=1)


async def abandon_a_write(units: UnitsOfWork) -> None:
    async with units.write() as unit:
        await unit.items.add(item("Pot"))
        raise Abandoned


async def names(units: UnitsOfWork) -> list[str]:
    async with units.read() as unit:
        return [row.name for row in await unit.items.list_offset(0, 100)]


async def test_write_commits_at_block_end_and_rolls_back_when_it_raises(
    units: UnitsOfWork,
) -> None:
    async with units.write() as unit:
        first = await unit.items.add(item("Cup"))
        second = await unit.items.add(item("Mug"))
    assert 0 < first.id < second.id
    assert first.created_at is not None
    with pytest.raises(Abandoned):
        await abandon_a_write(units)
    async with units.read() as unit:
        assert not hasattr(unit.items, "add")  # a read unit cannot write
    assert await names(units) == ["Cup", "Mug"]


async def test_names_are_unique_regardless_of_case(units: UnitsOfWork) -> None:
    async with units.write() as unit:
        await unit.items.add(item("Cup"))
    with pytest.raises(ConflictError, match="'CUP' already exists"):
        async with units.write() as unit:
            await unit.items.add(item("CUP"))
    assert await names(units) == ["Cup"]


async def test_delete_is_true_once_and_lookups_beyond_bigint_find_nothing(
    units: UnitsOfWork,
) -> None:
    async with units.write() as unit:
        cup = await unit.items.add(item("Cup"))
    async with units.write() as unit:
        assert await unit.items.delete(cup.id)
    async with units.write() as unit:
        assert not await unit.items.delete(cup.id)
        assert not await unit.items.delete(MAX_ID + 1)
        assert await unit.items.get(cup.id) is None
        assert await unit.items.get(MAX_ID + 1) is None


async def test_pages_by_offset_and_after_an_id_are_in_id_order(units: UnitsOfWork) -> None:
    async with units.write() as unit:
        ids = [(await unit.items.add(item(name))).id for name in ("c", "a", "b")]
    async with units.read() as unit:
        assert [i.id for i in await unit.items.list_offset(1, 5)] == ids[1:]
        first = await unit.items.list_page(DEFAULT_LISTING, None, 1)
        assert [i.id for i in first] == ids[:1]
        page = await unit.items.list_page(DEFAULT_LISTING, DEFAULT_LISTING.after(first[0]), 1)
        assert [i.id for i in page] == ids[1:2]
        rest = await unit.items.list_page(DEFAULT_LISTING, DEFAULT_LISTING.after(page[0]), 5)
        assert [i.id for i in rest] == ids[2:]
        assert await unit.items.count() == 3


async def test_units_get_their_connection_in_arrival_order(settings: Settings) -> None:
    """One connection, six use cases: never two units at once, and they take turns first come
    first served, one that arrives just as a unit ends behind those already waiting. Waiting
    in the pool instead, a few requests under load waited far longer (see `Checkout`)."""
    engine = create_engine(settings)
    one = settings.model_copy(update={"database_pool_size": 1, "database_max_overflow": 0})
    units = Sessions(
        create_sessionmaker(engine), ReadRouter(engine, None, 1.0), Checkout.for_pool(one)
    )
    entered: list[str] = []
    open_units = 0
    release = asyncio.Event()

    async def use(name: str, hold: asyncio.Event | None = None) -> None:
        nonlocal open_units
        async with units.write() if name.startswith("w") else units.read() as unit:
            open_units += 1
            assert open_units == 1, "more units open than connections"
            entered.append(name)
            await unit.items.count()
            if hold is not None:
                await hold.wait()
            open_units -= 1

    try:
        first = asyncio.create_task(use("first", release))
        await asyncio.sleep(0.05)
        waiting = [asyncio.create_task(use(name)) for name in ("r1", "w2", "r3", "w4")]
        await asyncio.sleep(0.05)  # all four queued behind the first
        release.set()
        newcomer = asyncio.create_task(use("newcomer"))  # as the first one's unit ends
        await asyncio.gather(first, *waiting, newcomer)
    finally:
        await engine.dispose()
    assert entered == ["first", "r1", "w2", "r3", "w4", "newcomer"]


async def test_a_unit_waits_for_a_connection_no_longer_than_the_pool_timeout(
    settings: Settings,
) -> None:
    engine = create_engine(settings)
    units = Sessions(create_sessionmaker(engine), ReadRouter(engine, None, 1.0), Checkout(1, 0.1))
    try:
        async with units.read():
            with pytest.raises(
                PoolTimeoutError, match=r"no database connection free within 0\.1 s"
            ):
                async with units.read():
                    pass  # pragma: no cover - never entered
    finally:
        await engine.dispose()


def test_rows_are_read_in_the_record_s_field_order() -> None:
    """A row becomes a record by position (`items.repository.record`): its columns and the
    type the repository reads them as follow the record's fields, in order."""
    hints = get_type_hints(ItemRecord)
    assert [column.name for column in RECORD_COLUMNS] == list(hints)
    assert list(get_args(RecordRow)) == list(hints.values())
