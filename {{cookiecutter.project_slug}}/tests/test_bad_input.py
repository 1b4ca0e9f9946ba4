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


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        pytest.param(b'{"name": "\xff\xfe", "price_cents": 1}', "application/json", 400, id="utf8"),
        # FastAPI's strict content type: a JSON body sent as text/plain is not parsed.
        pytest.param(b'{"name": "cup", "price_cents": 1}', "text/plain", 422, id="text-plain"),
    ],
)
async def test_unreadable_body_is_a_4xx_problem(
    client: AsyncClient, content: bytes, content_type: str, status: int
) -> None:
    response = await client.post(
        "/api/v2/items", content=content, headers={"content-type": content_type}
    )
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
