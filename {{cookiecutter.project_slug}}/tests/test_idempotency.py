"""`Idempotency-Key` on POST and `Location` on 201, through the app (SQLite, or PostgreSQL with
TEST_DATABASE_URL). The 100 parallel retries are in tests/test_concurrency.py."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from httpx import AsyncClient, Response
from scripts.local_idp import LocalIdentityProvider
from sqlalchemy import insert, text, update

from {{ cookiecutter.package_name }} import __main__ as entrypoint
from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.clock import utcnow
from {{ cookiecutter.package_name }}.db.engine import create_engine
from {{ cookiecutter.package_name }}.idempotency import purge
from {{ cookiecutter.package_name }}.idempotency.http import REPLAYED_HEADER
from {{ cookiecutter.package_name }}.idempotency.models import IdempotencyKey
from {{ cookiecutter.package_name }}.idempotency.purge import purge_expired
from {{ cookiecutter.package_name }}.settings import Settings, get_settings
from tests.clients import app_client

KEY = {"Idempotency-Key": "0b0e9a4c-7f1e-4b5e-9a55-2c6f1d2b9e10"}
MUG = {"name": "Mug", "price_cents": 1250}
DAY = timedelta(days=1)


def answer(response: Response) -> tuple[int, bytes, str | None]:
    """What a replay repeats: status, body, Location."""
    return response.status_code, response.content, response.headers.get("location")


async def count(settings: Settings, query: str) -> int:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            return int((await connection.execute(text(query))).scalar_one())
    finally:
        await engine.dispose()


async def expire(settings: Settings, *keys: str) -> None:
    """Move the expiry of these keys (of all, without any) a second into the past."""
    statement = update(IdempotencyKey).values(expires_at=utcnow() - timedelta(seconds=1))
    if keys:
        statement = statement.where(IdempotencyKey.key.in_(keys))
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            await connection.execute(statement)
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("version", "body"), [("v2", MUG), ("v1", {"name": "Mug", "price": "12.50"})]
)
async def test_created_item_has_its_location(
    client: AsyncClient, version: str, body: dict[str, object]
) -> None:
    response = await client.post(f"/api/{version}/items", json=body)
    assert response.status_code == 201
    location = response.headers["location"]
    assert location == f"/api/{version}/items/{response.json()['id']}"
    assert (await client.get(location)).json() == response.json()
    assert REPLAYED_HEADER.lower() not in response.headers


@pytest.mark.parametrize("version", ["v2", "v1"])
async def test_retry_gets_the_first_answer_and_creates_nothing(
    client: AsyncClient, settings: Settings, version: str
) -> None:
    body = MUG if version == "v2" else {"name": "Mug", "price": "12.50"}
    first = await client.post(f"/api/{version}/items", json=body, headers=KEY)
    # Another spacing and key order is the same request.
    retry = await client.post(
        f"/api/{version}/items",
        content=b'{ "price'
        + (b'_cents": 1250' if version == "v2" else b'": "12.50"')
        + b', "name": "Mug"}',
        headers={**KEY, "Content-Type": "application/json"},
    )
    assert first.status_code == 201
    assert answer(retry) == answer(first)
    assert retry.headers[REPLAYED_HEADER] == "true"
    assert REPLAYED_HEADER.lower() not in first.headers
    assert await count(settings, "SELECT count(*) FROM items") == 1


async def test_quoted_key_is_the_same_key(client: AsyncClient) -> None:
    first = await client.post("/api/v2/items", json=MUG, headers={"Idempotency-Key": '"k-1"'})
    retry = await client.post("/api/v2/items", json=MUG, headers={"Idempotency-Key": "k-1"})
    assert answer(retry) == answer(first)


async def test_same_key_with_another_body_is_a_422_problem(client: AsyncClient) -> None:
    await client.post("/api/v2/items", json=MUG, headers=KEY)
    other = await client.post("/api/v2/items", json={**MUG, "price_cents": 1}, headers=KEY)
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert "different request" in other.json()["detail"]
    elsewhere = await client.post(
        "/api/v1/items", json={"name": "Mug", "price": "12.50"}, headers=KEY
    )
    assert elsewhere.status_code == 422  # another path is another request


async def test_malformed_key_is_a_400_problem(client: AsyncClient) -> None:
    for value in ["", '""', "x" * 256, "naïve", 'a"b', "tab\there"]:
        response = await client.post(
            "/api/v2/items", json=MUG, headers={b"Idempotency-Key": value.encode()}
        )
        assert response.status_code == 400, value
        assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get("/api/v2/items")).json()["items"] == []


async def test_errors_are_not_stored(client: AsyncClient) -> None:
    await client.post("/api/v2/items", json=MUG)
    taken = await client.post("/api/v2/items", json=MUG, headers=KEY)
    assert taken.status_code == 409
    item = (await client.get(taken.headers.get("location", "/api/v2/items"))).json()["items"][0]
    await client.delete(f"/api/v2/items/{item['id']}")
    retry = await client.post("/api/v2/items", json=MUG, headers=KEY)
    assert retry.status_code == 201  # the name is free now: the retry runs, it is not a replay
    assert REPLAYED_HEADER.lower() not in retry.headers


async def test_expired_key_is_new_again(client: AsyncClient, settings: Settings) -> None:
    first = await client.post("/api/v2/items", json=MUG, headers=KEY)
    await expire(settings)
    other = await client.post("/api/v2/items", json={**MUG, "name": "Cup"}, headers=KEY)
    assert other.status_code == 201
    assert other.json()["id"] != first.json()["id"]
    retry = await client.post("/api/v2/items", json={**MUG, "name": "Cup"}, headers=KEY)
    assert answer(retry) == answer(other)


async def test_keys_are_scoped_to_the_caller(
    client: AsyncClient, settings: Settings, identity_provider: LocalIdentityProvider
) -> None:
    alice = {"Authorization": f"Bearer {identity_provider.token(sub='alice')}", **KEY}
    bob = {"Authorization": f"Bearer {identity_provider.token(sub='bob')}", **KEY}
    first = await client.post("/api/v2/items", json=MUG, headers=alice)
    second = await client.post("/api/v2/items", json={**MUG, "name": "Cup"}, headers=bob)
    assert (first.status_code, second.status_code) == (201, 201)
    assert await count(settings, "SELECT count(*) FROM items") == 2


@pytest.fixture
async def impatient(settings: Settings, bearer: dict[str, str]) -> AsyncIterator[AsyncClient]:
    """An app whose retries wait 50 ms for a request in flight (SQLite: its busy timeout)."""
    waits = {"idempotency_wait_seconds": 0.05}
    if settings.is_sqlite:
        waits["database_connect_timeout"] = 0.05
    async with app_client(create_app(settings.model_copy(update=waits)), bearer) as http:
        yield http


async def test_retry_while_the_first_is_in_flight(
    impatient: AsyncClient, settings: Settings
) -> None:
    """PostgreSQL: a 409 after IDEMPOTENCY_WAIT_SECONDS. SQLite: its one writer makes the retry
    wait like any write, so past the busy timeout it is a 503, as any write would be."""
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection, connection.begin() as first:
            # The first request's transaction: it claimed the key and has not committed.
            claimed = {"caller": "test-client", "key": KEY["Idempotency-Key"], "fingerprint": "x"}
            now = utcnow()
            await connection.execute(
                insert(IdempotencyKey).values(**claimed, created_at=now, expires_at=now + DAY)
            )
            retry = await impatient.post("/api/v2/items", json=MUG, headers=KEY)
            await first.rollback()
    finally:
        await engine.dispose()
    if settings.is_sqlite:
        assert retry.status_code == 503
    else:
        assert retry.status_code == 409
        assert "in progress" in retry.json()["detail"]
    assert (await impatient.post("/api/v2/items", json=MUG, headers=KEY)).status_code == 201


async def test_purge_deletes_only_expired_keys(client: AsyncClient, settings: Settings) -> None:
    for n in range(3):
        await client.post(
            "/api/v2/items", json={**MUG, "name": f"n{n}"}, headers={"Idempotency-Key": f"k{n}"}
        )
    await expire(settings, "k0", "k1")
    engine = create_engine(settings)
    try:
        assert await purge_expired(engine, utcnow(), batch=1) == 2
    finally:
        await engine.dispose()
    assert await count(settings, "SELECT count(*) FROM idempotency_keys WHERE key = 'k2'") == 1
    assert await count(settings, "SELECT count(*) FROM idempotency_keys") == 1


def test_purge_command_runs_with_the_service_settings(
    monkeypatch: pytest.MonkeyPatch, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m <package> purge-idempotency-keys`, as the chart's CronJob runs it."""
    monkeypatch.setattr(sys, "argv", ["{{ cookiecutter.package_name }}", purge.COMMAND])
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        entrypoint.main()
    finally:
        get_settings.cache_clear()
    assert "expired idempotency keys purged" in capsys.readouterr().out
