from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from httpx import AsyncClient

from {{ cookiecutter.package_name }}.items.deps import get_item_service
from {{ cookiecutter.package_name }}.items.models import ItemRecord


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


class FakeItems:
    """Stands in for ItemService: a route test needs no database."""

    async def get(self, item_id: int) -> ItemRecord:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        return ItemRecord(
            id=item_id,
            name="fake",
            description=None,
            price_cents=1,
            created_at=now,
            updated_at=now,
            version=1,
        )


async def test_dependency_overrides_reach_the_routes(app: FastAPI, client: AsyncClient) -> None:
    """Routes are added to the app itself: the app's overrides must still apply to them."""
    app.dependency_overrides[get_item_service] = FakeItems
    response = await client.get("/api/v2/items/5")
    assert response.status_code == 200
    assert response.json()["name"] == "fake"


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


async def test_unknown_fields_are_rejected(client: AsyncClient) -> None:
    response = await client.post("/api/v2/items", json={"name": "x", "price_cents": 1, "x": 1})
    assert response.status_code == 422


async def test_delete_then_404(client: AsyncClient) -> None:
    item = (await client.post("/api/v2/items", json={"name": "d", "price_cents": 1})).json()
    await client.get(f"/api/v2/items/{item['id']}")
    assert (await client.delete(f"/api/v2/items/{item['id']}")).status_code == 204
    assert (await client.get(f"/api/v2/items/{item['id']}")).status_code == 404
    assert (await client.delete(f"/api/v2/items/{item['id']}")).status_code == 404
