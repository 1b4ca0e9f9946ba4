"""Parallel requests on the same data: every effect happens once, checked in the database after.

The requests go through the whole app at once (asyncio.gather over ASGI), so they interleave on
the pool's connections like a server's requests do. Run with TEST_DATABASE_URL for PostgreSQL's
row locks; on SQLite the same invariants hold through its single writer.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import text

from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.db.engine import create_engine
from {{ cookiecutter.package_name }}.settings import Settings
from tests.clients import app_client

EVENTS = {{ "True" if cookiecutter.messaging != "none" else "False" }}  # the outbox exists
PARALLEL_DELETES = 50
PARALLEL_CREATES = 200
PARALLEL_RETRIES = 100
PARALLEL_UPDATES = 50
PARALLEL_READS = 10


@pytest.fixture
async def client(settings: Settings, bearer: dict[str, str]) -> AsyncIterator[AsyncClient]:
    """The app with pool and lock timeouts long enough for every request to wait its turn.

    SQLite's busy timeout is DATABASE_CONNECT_TIMEOUT (3 s): 200 writers queued on its one
    write lock on a loaded machine waited longer, and 5 of them got a 503.
    """
    waits = {
        "database_pool_timeout": 120.0,
        "database_connect_timeout": 120.0,
        "idempotency_wait_seconds": 60.0,
    }
    app = create_app(settings.model_copy(update=waits))
    async with app_client(app, bearer) as http:
        yield http


async def rows(settings: Settings, query: str) -> list[tuple[Any, ...]]:
    """Read the database directly, bypassing the app (and its cache)."""
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in await connection.execute(text(query))]
    finally:
        await engine.dispose()


async def events_of(settings: Settings, event_type: str) -> Counter[int]:
    """How many outbox rows of one type each item id has."""
    query = f"SELECT payload FROM outbox_events WHERE event_type = '{event_type}'"  # noqa: S608 - our literals
    payloads = await rows(settings, query)
    return Counter(json.loads(payload)["item_id"] for (payload,) in payloads)


async def in_parallel(*requests: Awaitable[Response]) -> Counter[int]:
    """Status codes of requests sent at once."""
    responses = await asyncio.gather(*requests)
    return Counter(response.status_code for response in responses)


async def test_parallel_deletes_of_one_item_succeed_once(
    client: AsyncClient, settings: Settings
) -> None:
    created = await client.post("/api/v2/items", json={"name": "contested", "price_cents": 1})
    item_id = created.json()["id"]
    url = f"/api/v2/items/{item_id}"

    statuses = await in_parallel(*(client.delete(url) for _ in range(PARALLEL_DELETES)))

    assert statuses == {204: 1, 404: PARALLEL_DELETES - 1}
    assert await rows(settings, "SELECT id FROM items") == []
    if EVENTS:
        assert await events_of(settings, "item.deleted") == {item_id: 1}


async def test_parallel_creates_store_each_item_and_event_once(
    client: AsyncClient, settings: Settings
) -> None:
    responses = await asyncio.gather(
        *(
            client.post("/api/v2/items", json={"name": f"item-{n}", "price_cents": n})
            for n in range(PARALLEL_CREATES)
        )
    )

    assert Counter(r.status_code for r in responses) == {201: PARALLEL_CREATES}
    answered = {r.json()["id"]: r.json()["name"] for r in responses}
    stored = dict(await rows(settings, "SELECT id, name FROM items"))
    assert stored == answered
    assert len(stored) == PARALLEL_CREATES
    if EVENTS:
        assert await events_of(settings, "item.created") == dict.fromkeys(answered, 1)


async def test_parallel_creates_of_one_name_store_it_once(
    client: AsyncClient, settings: Settings
) -> None:
    body = {"name": "twice", "price_cents": 1}

    statuses = await in_parallel(
        *(client.post("/api/v2/items", json=body) for _ in range(PARALLEL_DELETES))
    )

    assert statuses == {201: 1, 409: PARALLEL_DELETES - 1}
    ((item_id,),) = await rows(settings, "SELECT id FROM items WHERE name = 'twice'")
    if EVENTS:
        assert await events_of(settings, "item.created") == {item_id: 1}


async def test_parallel_retries_with_one_idempotency_key_create_once_and_answer_alike(
    client: AsyncClient, settings: Settings
) -> None:
    """The Idempotency-Key proof: 100 copies of one POST at once, as a client retrying on
    timeouts sends them. The first claims the key; the rest wait on it, then replay its answer.
    """
    headers = {"Idempotency-Key": "retried-create"}
    body = {"name": "once", "price_cents": 1}

    responses = await asyncio.gather(
        *(client.post("/api/v2/items", json=body, headers=headers) for _ in range(PARALLEL_RETRIES))
    )

    answers = Counter((r.status_code, r.content, r.headers["location"]) for r in responses)
    assert len(answers) == 1, answers
    ((status, _, _),) = answers
    assert status == 201
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == (
        PARALLEL_RETRIES - 1
    )
    ((item_id,),) = await rows(settings, "SELECT id FROM items")
    if EVENTS:
        assert await events_of(settings, "item.created") == {item_id: 1}


async def test_parallel_updates_from_one_version_apply_once(
    client: AsyncClient, settings: Settings
) -> None:
    created = await client.post("/api/v2/items", json={"name": "edited", "price_cents": 0})
    item_id, etag = created.json()["id"], created.headers["etag"]
    url = f"/api/v2/items/{item_id}"
    await client.get(url)  # the cache holds version 1 (with a cache server)
    headers = {"content-type": "application/merge-patch+json", "if-match": etag}

    # Reads run among the updates: one that read version 1 late must not cache it after 2.
    responses = await asyncio.gather(
        *(
            client.patch(url, content=json.dumps({"price_cents": n}), headers=headers)
            for n in range(1, PARALLEL_UPDATES + 1)
        ),
        *(client.get(url) for _ in range(PARALLEL_READS)),
    )

    updates = responses[:PARALLEL_UPDATES]
    assert Counter(r.status_code for r in updates) == {200: 1, 412: PARALLEL_UPDATES - 1}
    (winner,) = (r for r in updates if r.status_code == 200)
    price = winner.json()["price_cents"]
    assert winner.headers["etag"] == '"2"'
    query = f"SELECT version, price_cents FROM items WHERE id = {item_id}"  # noqa: S608 - an int
    assert await rows(settings, query) == [(2, price)]
    if EVENTS:
        assert await events_of(settings, "item.updated") == {item_id: 1}
    for _ in range(2):  # a miss, or a hit of what the update cached; then surely a hit
        read = await client.get(url)
        assert (read.headers["etag"], read.json()["price_cents"]) == ('"2"', price)
