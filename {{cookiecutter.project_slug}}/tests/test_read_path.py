"""The read path stays cheap: no ORM session, no transaction, no thread hand-off.

`make bench` measures what each of these cost on PostgreSQL (an ORM session per read, a
BEGIN and ROLLBACK per read, a sync dependency's trip through the thread pool); these tests
keep them from coming back, on whichever database the suite runs.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from httpx import AsyncClient
from sqlalchemy import event
from sqlalchemy.orm import Session


@pytest.fixture
def sessions_begun() -> Iterator[list[Session]]:
    """Every ORM session that begins a transaction while the test runs, in order."""
    begun: list[Session] = []

    def count(session: Session, *_: object) -> None:
        begun.append(session)

    event.listen(Session, "after_begin", count)
    yield begun
    event.remove(Session, "after_begin", count)


async def test_reads_open_no_orm_session(
    client: AsyncClient, sessions_begun: list[Session]
) -> None:
    created = await client.post("/api/v2/items", json={"name": "Mug", "price_cents": 1250})
    assert created.status_code == 201
    assert len(sessions_begun) == 1  # a write is one ORM session, in one transaction
    item_id = created.json()["id"]
    reads = [
        f"/api/v2/items/{item_id}",
        "/api/v2/items?limit=10",
        "/api/v2/items?sort=-name&name_prefix=m",
        f"/api/v1/items/{item_id}",
        "/api/v1/items?offset=0&limit=10",
        "/api/v2/items/999999",  # not found: still one read, no session
    ]
    for path in reads:
        assert (await client.get(path)).status_code in {200, 404}, path
    assert len(sessions_begun) == 1, "a read opened an ORM session"


def dependencies(dependant: Dependant) -> Iterator[Dependant]:
    """Every dependency of a route, at any depth."""
    for dependency in dependant.dependencies:
        yield dependency
        yield from dependencies(dependency)


def runs_on_the_loop(call: object) -> bool:
    """Whether FastAPI awaits `call` rather than sending it to its thread pool."""
    method = call if inspect.isfunction(call) or inspect.ismethod(call) else type(call).__call__
    return inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method)


def test_no_route_dependency_runs_in_the_thread_pool(app: FastAPI) -> None:
    """A plain `def` dependency costs each request a hand-off to a worker thread and back."""
    routes = [route for route in app.routes if isinstance(route, APIRoute)]
    assert routes
    sync = {
        f"{sorted(route.methods or ())} {route.path}: {getattr(d.call, '__name__', d.call)}"
        for route in routes
        for d in (route.dependant, *dependencies(route.dependant))
        if d.call is not None and not runs_on_the_loop(d.call)
    }
    assert not sync, sync
