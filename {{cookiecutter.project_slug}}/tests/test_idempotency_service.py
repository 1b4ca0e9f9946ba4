"""The create-once use case against in-memory fakes (tests/fakes.py): the rules of a key."""

from __future__ import annotations

from datetime import timedelta

import pytest

from {{ cookiecutter.package_name }}.clock import utcnow
from {{ cookiecutter.package_name }}.errors import (
    ConflictError,
    IdempotencyKeyReusedError,
    RequestInProgressError,
)
from {{ cookiecutter.package_name }}.idempotency.keys import IdempotentRequest, StoredResponse, fingerprint
from {{ cookiecutter.package_name }}.items.models import ItemRecord
from {{ cookiecutter.package_name }}.items.service import ItemService
from tests.fakes import FakeDatabase, FakeUnitsOfWork

EVENTS = {{ "True" if cookiecutter.messaging != "none" else "False" }}  # the outbox exists
DAY = timedelta(days=1)


def keyed(key: str = "k", caller: str = "alice", body: str = "Mug") -> IdempotentRequest:
    sha256 = fingerprint("POST", "/api/v2/items", {"name": body})
    return IdempotentRequest(caller, key, sha256, ttl=DAY, wait=timedelta(seconds=1))


def render(item: ItemRecord) -> StoredResponse:
    return StoredResponse(201, (("location", f"/items/{item.id}"),), item.name.encode())


def test_fingerprint_is_canonical_and_names_method_path_and_body() -> None:
    first = fingerprint("POST", "/a", {"name": "x", "price": 1})
    assert first == fingerprint("POST", "/a", {"price": 1, "name": "x"})
    assert first != fingerprint("POST", "/b", {"name": "x", "price": 1})
    assert first != fingerprint("PUT", "/a", {"name": "x", "price": 1})
    assert first != fingerprint("POST", "/a", {"name": "x", "price": 2})


async def test_first_request_creates_and_stores_its_answer_in_the_same_commit(
    service: ItemService, database: FakeDatabase
) -> None:
    outcome = await service.create_once("Mug", None, 1, keyed(), render)
    assert not outcome.replayed
    assert outcome.response == StoredResponse(201, (("location", "/items/1"),), b"Mug")
    assert database.keys["alice", "k"].answer == outcome.response
    assert database.commits == 1
    assert len(database.events) == (1 if EVENTS else 0)


async def test_retry_replays_the_answer_and_creates_nothing(
    service: ItemService, database: FakeDatabase
) -> None:
    first = await service.create_once("Mug", None, 1, keyed(), render)
    retry = await service.create_once("Mug", None, 1, keyed(), render)
    assert retry.replayed
    assert retry.response == first.response
    assert len(database.rows) == 1
    assert len(database.events) == (1 if EVENTS else 0)


async def test_same_key_for_another_request_is_refused(
    service: ItemService, database: FakeDatabase
) -> None:
    await service.create_once("Mug", None, 1, keyed(), render)
    with pytest.raises(IdempotencyKeyReusedError):
        await service.create_once("Cup", None, 1, keyed(body="Cup"), render)
    assert len(database.rows) == 1


async def test_keys_are_per_caller(service: ItemService, database: FakeDatabase) -> None:
    await service.create_once("Mug", None, 1, keyed(caller="alice"), render)
    bob = await service.create_once("Cup", None, 1, keyed(caller="bob", body="Cup"), render)
    assert not bob.replayed
    assert len(database.rows) == 2


async def test_an_error_is_not_stored_and_frees_the_key(
    service: ItemService, database: FakeDatabase
) -> None:
    await service.create("Mug", None, 1)
    with pytest.raises(ConflictError):
        await service.create_once("Mug", None, 1, keyed(), render)
    assert database.keys == {}
    assert database.in_flight == set()


async def test_retry_while_the_first_is_in_flight_is_in_progress(
    units: FakeUnitsOfWork, service: ItemService
) -> None:
    async with units.write() as first:
        assert await first.idempotency.claim(keyed(), utcnow()) is None
        with pytest.raises(RequestInProgressError):
            await service.create_once("Mug", None, 1, keyed(), render)


async def test_expired_key_is_new_again(service: ItemService, database: FakeDatabase) -> None:
    await service.create_once("Mug", None, 1, keyed(), render)
    database.keys["alice", "k"].expires_at -= 2 * DAY
    again = await service.create_once("Cup", None, 1, keyed(body="Cup"), render)
    assert not again.replayed
    assert len(database.rows) == 2
