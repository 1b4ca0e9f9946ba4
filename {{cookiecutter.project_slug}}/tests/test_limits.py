"""Bodies over MAX_BODY_BYTES get 413 problem+json, declared or chunked, with the usual headers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient

from {{ cookiecutter.package_name }}.settings import Settings

PROBLEM = "application/problem+json"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A small limit, so the tests send little."""
    return settings.model_copy(update={"max_body_bytes": 1000})


async def test_declared_length_over_the_limit_is_a_413_problem(client: AsyncClient) -> None:
    response = await client.post("/api/v2/items", content=b"x" * 1001)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == "The request body exceeds 1000 bytes."
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "x-request-id" in response.headers


async def test_chunked_body_over_the_limit_is_a_413_problem(client: AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b'{"name": "' + b"x" * 500

    response = await client.post(
        "/api/v2/items", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


async def test_chunked_body_within_the_limit_is_served(client: AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "cup", '
        yield b'"price_cents": 250}'

    response = await client.post(
        "/api/v2/items", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 201


async def test_websocket_scope_passes_through() -> None:
    """Only HTTP bodies are limited; other scopes reach the app untouched."""
    seen: list[str] = []

    async def inner(scope: dict[str, object], _receive: object, _send: object) -> None:
        seen.append(str(scope["type"]))

    from {{ cookiecutter.package_name }}.api.limits import BodyLimitMiddleware  # noqa: PLC0415

    await BodyLimitMiddleware(inner, max_bytes=1)({"type": "websocket"}, None, None)  # type: ignore[arg-type]
    assert seen == ["websocket"]
