"""The update use case on in-memory fakes (tests/fakes.py): versions, events and the cache."""

from __future__ import annotations

import asyncio

import pytest

from {{ cookiecutter.package_name }}.errors import (
    ConflictError,
    NotFoundError,
    PreconditionFailedError,
)
from {{ cookiecutter.package_name }}.items.models import ItemRecord
from {{ cookiecutter.package_name }}.items.service import ItemService
from tests.fakes import FakeCache, FakeDatabase, FakeUnitsOfWork, HeldFirstWrite
from tests.use_cases import service_over

EVENTS = {{ "True" if cookiecutter.messaging != "none" else "False" }}  # the outbox exists


def updates(database: FakeDatabase) -> list[tuple[int, int, dict[str, object]]]:
    """The staged `item.updated` events: item id, version, changes."""
    return [
        (event.item_id, event.version, dict(event.changes))  # type: ignore[attr-defined]
        for event in database.events
        if getattr(event, "event_type", None) == "item.updated"
    ]


async def test_update_applies_the_patch_once_with_its_event_and_caches_the_new_version(
    service: ItemService, database: FakeDatabase, cache: FakeCache
) -> None:
    created = await service.create("Mug", "white", 100)
    await service.get(created.id)  # the cache holds version 1

    updated = await service.update(created.id, {"description": None, "name": " Cup "}, None)

    assert (updated.name, updated.description, updated.price_cents) == ("Cup", None, 100)
    assert updated.version == 2
    assert database.rows[created.id].version == 2
    expected = [(created.id, 2, {"description": None, "name": "Cup"})]
    assert updates(database) == (expected if EVENTS else [])
    hits = cache.hits
    assert await service.get(created.id) == updated
    assert cache.hits == hits + 1


async def test_an_update_from_another_version_is_refused_and_changes_nothing(
    service: ItemService, database: FakeDatabase
) -> None:
    created = await service.create("Mug", None, 100)
    await service.update(created.id, {"price_cents": 1}, frozenset({1}))
    commits = database.commits
    with pytest.raises(PreconditionFailedError):
        await service.update(created.id, {"price_cents": 2}, frozenset({1}))
    assert (database.rows[created.id].price_cents, database.commits) == (1, commits)
    assert len(updates(database)) == (1 if EVENTS else 0)


async def test_an_update_of_a_missing_item_is_not_found_whatever_the_versions(
    service: ItemService,
) -> None:
    for versions in (None, frozenset({1}), frozenset()):
        with pytest.raises(NotFoundError):
            await service.update(7, {"price_cents": 1}, versions)
        with pytest.raises(NotFoundError):
            await service.update(7, {}, versions)


async def test_an_update_to_a_taken_name_is_a_conflict_and_changes_nothing(
    service: ItemService, database: FakeDatabase
) -> None:
    await service.create("Bowl", None, 1)
    created = await service.create("Mug", None, 1)
    with pytest.raises(ConflictError, match="'bowl' already exists"):
        await service.update(created.id, {"name": "bowl"}, None)
    assert (database.rows[created.id].name, database.rows[created.id].version) == ("Mug", 1)
    assert updates(database) == []


async def test_an_empty_patch_writes_nothing_but_still_checks_the_version(
    service: ItemService, database: FakeDatabase
) -> None:
    created = await service.create("Mug", None, 1)
    assert await service.update(created.id, {}, frozenset({1})) == created
    with pytest.raises(PreconditionFailedError):
        await service.update(created.id, {}, frozenset({2}))
    assert database.rows[created.id].version == 1
    assert updates(database) == []


async def test_a_delete_at_another_version_is_refused_and_keeps_the_item(
    service: ItemService, database: FakeDatabase
) -> None:
    created = await service.create("Mug", None, 1)
    with pytest.raises(PreconditionFailedError):
        await service.delete(created.id, frozenset({2}))
    assert created.id in database.rows
    await service.delete(created.id, frozenset({1, 2}))
    assert database.rows == {}
    with pytest.raises(NotFoundError):
        await service.delete(created.id, frozenset({1}))


async def slow_reader_race(service: ItemService, cache: HeldFirstWrite) -> ItemRecord:
    """A read that misses and reads version 1, an update that commits and caches version 2,
    then the read storing its version 1: what the cache serves afterwards."""
    created = await service.create("Mug", None, 100)
    reader = asyncio.create_task(service.get(created.id))
    await cache.holding.wait()  # the reader has version 1 from the database, not yet cached
    updated = await service.update(created.id, {"price_cents": 200}, frozenset({1}))
    cache.release.set()
    assert (await reader).version == 1  # what the database had when it read
    after = await service.get(created.id)
    assert after == updated
    return after


async def test_a_slow_reader_never_puts_back_the_version_an_update_replaced(
    units: FakeUnitsOfWork, cache: FakeCache
) -> None:
    held = HeldFirstWrite(cache)
    after = await slow_reader_race(service_over(units, held), held)
    assert after.version == 2
    assert cache.hits == 1  # the last read was served by the cache: with version 2


async def test_the_fake_cache_keeps_the_newest_version_it_was_given(cache: FakeCache) -> None:
    await cache.set_if_newer("k", b"2", 2)
    await cache.set_if_newer("k", b"1", 1)
    assert await cache.get("k") == b"2"
    await cache.set_if_newer("k", b"3", 3)
    assert await cache.get("k") == b"3"
