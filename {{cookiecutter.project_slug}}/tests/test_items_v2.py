from __future__ import annotations

import pytest
from httpx import AsyncClient

from {{ cookiecutter.package_name }}.errors import InvalidInputError
from {{ cookiecutter.package_name }}.items.service import decode_cursor, encode_cursor


async def test_create_returns_cents_and_timestamps(client: AsyncClient) -> None:
    response = await client.post(
        "/api/v2/items", json={"name": "  Mug ", "description": "white", "price_cents": 1250}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Mug"
    assert body["price_cents"] == 1250
    assert {"created_at", "updated_at"} <= body.keys()
    again = await client.get(f"/api/v2/items/{body['id']}")
    assert again.json() == body
    cached = await client.get(f"/api/v2/items/{body['id']}")
    assert cached.json() == body


async def test_cursor_pagination_walks_every_item_once(client: AsyncClient) -> None:
    for n in range(5):
        await client.post("/api/v2/items", json={"name": f"n{n}", "price_cents": n})
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        params: dict[str, str | int] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v2/items", params=params)).json()
        seen += [i["name"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["n0", "n1", "n2", "n3", "n4"]


async def test_forged_cursor_is_a_400_problem(client: AsyncClient) -> None:
    response = await client.get("/api/v2/items", params={"cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert response.json()["title"] == "Bad Request"


@pytest.mark.parametrize("cursor", ["", "!!!", encode_cursor(1)[:-2], "aWQ6eA"])
def test_decode_cursor_rejects_garbage(cursor: str) -> None:
    with pytest.raises(InvalidInputError):
        decode_cursor(cursor)


def test_cursor_round_trip() -> None:
    assert decode_cursor(encode_cursor(42)) == 42


async def test_unknown_fields_are_rejected(client: AsyncClient) -> None:
    response = await client.post("/api/v2/items", json={"name": "x", "price_cents": 1, "x": 1})
    assert response.status_code == 422


async def test_delete_then_404(client: AsyncClient) -> None:
    item = (await client.post("/api/v2/items", json={"name": "d", "price_cents": 1})).json()
    await client.get(f"/api/v2/items/{item['id']}")
    assert (await client.delete(f"/api/v2/items/{item['id']}")).status_code == 204
    assert (await client.get(f"/api/v2/items/{item['id']}")).status_code == 404
    assert (await client.delete(f"/api/v2/items/{item['id']}")).status_code == 404
