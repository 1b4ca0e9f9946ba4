"""The fake units of work keep the SQL's promises: one scenario, run on both.

tests/test_items_service.py trusts the fakes; this keeps them honest against SQLite, and against
PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from {{ cookiecutter.package_name }}.db.engine import (
    ReadRouter,
    Sessions,
    create_engine,
    create_sessionmaker,
)
from {{ cookiecutter.package_name }}.errors import ConflictError
from {{ cookiecutter.package_name }}.items.listing import DEFAULT_LISTING
from {{ cookiecutter.package_name }}.items.models import MAX_ID, Item
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
    yield Sessions(primary, ReadRouter(primary, None, sql_settings.database_connect_timeout))
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
        await unit.items.add(item("Jug"))  # a read is never committed
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
