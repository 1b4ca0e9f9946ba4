"""Item use cases against in-memory fakes (tests/fakes.py): the rules, without a database."""

from __future__ import annotations

import sys

import pytest

from {{ cookiecutter.package_name }}.errors import ConflictError, InvalidInputError, NotFoundError
from {{ cookiecutter.package_name }}.items.service import ItemService
from tests.fakes import FakeCache, FakeDatabase

EVENTS = {{ "True" if cookiecutter.messaging != "none" else "False" }}  # the outbox exists
# Fixtures that make or reach a database (conftest.py): none of these tests uses one.
DATABASE_FIXTURES = frozenset({"database_url", "replica_url", "settings", "app", "client"})


def event_types(database: FakeDatabase) -> list[str]:
    return [str(getattr(event, "event_type", "?")) for event in database.events]


async def add(service: ItemService, *names: str) -> list[int]:
    return [(await service.create(name, None, 100)).id for name in names]


async def test_create_trims_the_name_and_commits_item_and_event_together(
    service: ItemService, database: FakeDatabase
) -> None:
    record = await service.create("  Mug ", "white", 1250)
    assert (record.name, record.description, record.price_cents) == ("Mug", "white", 1250)
    assert database.rows[record.id].name == "Mug"
    assert database.commits == 1
    assert event_types(database) == (["item.created"] if EVENTS else [])


async def test_duplicate_name_regardless_of_case_is_a_conflict_and_stores_nothing(
    service: ItemService, database: FakeDatabase
) -> None:
    await service.create("Cup", None, 1)
    with pytest.raises(ConflictError, match="'cup' already exists"):
        await service.create(" cup", None, 2)
    assert [row.name for row in database.rows.values()] == ["Cup"]
    assert database.commits == 1  # the failed unit rolled back
    assert event_types(database) == (["item.created"] if EVENTS else [])


async def test_get_misses_the_cache_then_reads_and_fills_it(
    service: ItemService, cache: FakeCache, database: FakeDatabase
) -> None:
    (item_id,) = await add(service, "a")
    opened = database.opened
    record = await service.get(item_id)
    assert (record.id, record.name) == (item_id, "a")
    assert (cache.hits, cache.misses, database.opened) == (0, 1, opened + 1)
    assert len(cache.entries) == 1


async def test_cache_hit_opens_no_unit_of_work(
    service: ItemService, cache: FakeCache, database: FakeDatabase
) -> None:
    (item_id,) = await add(service, "a")
    first = await service.get(item_id)
    opened = database.opened
    assert await service.get(item_id) == first
    assert (cache.hits, database.opened) == (1, opened)


async def test_get_of_a_missing_item_is_not_found_and_caches_nothing(
    service: ItemService, cache: FakeCache
) -> None:
    with pytest.raises(NotFoundError, match="item 7 does not exist"):
        await service.get(7)
    assert cache.entries == {}


async def test_delete_removes_the_item_its_cache_entry_and_stages_one_event(
    service: ItemService, cache: FakeCache, database: FakeDatabase
) -> None:
    (item_id,) = await add(service, "a")
    await service.get(item_id)
    await service.delete(item_id)
    assert database.rows == {}
    assert cache.entries == {}
    assert event_types(database) == (["item.created", "item.deleted"] if EVENTS else [])


async def test_second_delete_is_not_found_and_adds_no_event(
    service: ItemService, database: FakeDatabase
) -> None:
    (item_id,) = await add(service, "a")
    await service.delete(item_id)
    commits, events = database.commits, list(database.events)
    with pytest.raises(NotFoundError):
        await service.delete(item_id)
    assert (database.commits, database.events) == (commits, events)


async def test_ids_no_bigint_holds_are_not_found(service: ItemService) -> None:
    with pytest.raises(NotFoundError):
        await service.get(2**63)
    with pytest.raises(NotFoundError):
        await service.delete(-1)


async def test_cursor_pages_walk_every_item_once_and_the_last_has_no_cursor(
    service: ItemService,
) -> None:
    ids = await add(service, "a", "b", "c", "d", "e")
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        items, cursor = await service.page_by_cursor(cursor, 2)
        seen += [item.id for item in items]
        pages += 1
        if cursor is None:
            break
    assert (seen, pages) == (ids, 3)


async def test_full_last_cursor_page_has_no_next_cursor(service: ItemService) -> None:
    ids = await add(service, "a", "b")
    items, cursor = await service.page_by_cursor(None, 2)
    assert ([item.id for item in items], cursor) == (ids, None)


async def test_forged_cursor_is_invalid_input_before_any_unit_opens(
    service: ItemService, database: FakeDatabase
) -> None:
    with pytest.raises(InvalidInputError):
        await service.page_by_cursor("not-a-cursor", 2)
    assert database.opened == 0


async def test_offset_page_has_its_slice_and_the_total(service: ItemService) -> None:
    ids = await add(service, "a", "b", "c", "d", "e")
    items, total = await service.page_by_offset(1, 3)
    assert ([item.id for item in items], total) == (ids[1:4], 5)
    items, total = await service.page_by_offset(10, 3)
    assert (items, total) == ([], 5)


async def test_reads_never_commit(service: ItemService, database: FakeDatabase) -> None:
    (item_id,) = await add(service, "a")
    commits = database.commits
    await service.get(item_id)
    await service.page_by_offset(0, 5)
    await service.page_by_cursor(None, 5)
    assert database.commits == commits


def test_none_of_these_tests_uses_a_database(request: pytest.FixtureRequest) -> None:
    """They stay fast because no fixture they use, directly or not, makes a database."""
    this_module = sys.modules[__name__]
    here = [
        item
        for item in request.session.items
        if isinstance(item, pytest.Function) and item.module is this_module
    ]
    assert here, "this test itself is collected"
    for item in here:
        assert DATABASE_FIXTURES.isdisjoint(item.fixturenames), item.name
