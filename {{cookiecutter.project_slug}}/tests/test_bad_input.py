"""Inputs fuzzing found: each must be a 4xx problem, never a 500."""

from __future__ import annotations

import pytest
from httpx import AsyncClient

PROBLEM = "application/problem+json"


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("item_id", [0, -1, 2**63, 10**40])
async def test_ids_no_bigint_holds_are_404(client: AsyncClient, version: str, item_id: int) -> None:
    for method in ("GET", "DELETE"):
        response = await client.request(method, f"/api/{version}/items/{item_id}")
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM


async def test_invalid_utf8_body_is_a_400_problem(client: AsyncClient) -> None:
    response = await client.post(
        "/api/v2/items",
        content=b'{"name": "\xff\xfe", "price_cents": 1}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM


async def test_non_json_content_type_is_a_422_problem(client: AsyncClient) -> None:
    """FastAPI's strict content type: a JSON body sent as text/plain is not parsed."""
    response = await client.post(
        "/api/v2/items",
        content=b'{"name": "cup", "price_cents": 1}',
        headers={"content-type": "text/plain"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
