from __future__ import annotations

from httpx import AsyncClient


async def create(client: AsyncClient, name: str, price: str = "12.50") -> dict[str, object]:
    response = await client.post("/api/v1/items", json={"name": name, "price": price})
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_create_and_get(client: AsyncClient) -> None:
    created = await create(client, "Cup")
    assert created["price"] == "12.50"
    response = await client.get(f"/api/v1/items/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created


async def test_v1_is_deprecated_with_sunset(client: AsyncClient) -> None:
    response = await client.get("/api/v1/items")
    assert response.headers["deprecation"].startswith("@")
    assert response.headers["sunset"].endswith("GMT")
    assert 'rel="successor-version"' in response.headers["link"]
    v2 = await client.get("/api/v2/items")
    assert "deprecation" not in v2.headers


async def test_offset_pagination(client: AsyncClient) -> None:
    for n in range(5):
        await create(client, f"item-{n}")
    page = (await client.get("/api/v1/items", params={"offset": 2, "limit": 2})).json()
    assert page["total"] == 5
    assert [i["name"] for i in page["items"]] == ["item-2", "item-3"]
    assert (page["offset"], page["limit"]) == (2, 2)


async def test_duplicate_name_is_a_conflict(client: AsyncClient) -> None:
    await create(client, "Unique")
    response = await client.post("/api/v1/items", json={"name": "Unique", "price": "1.00"})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert "already exists" in response.json()["detail"]


async def test_price_with_three_decimals_is_rejected(client: AsyncClient) -> None:
    response = await client.post("/api/v1/items", json={"name": "x", "price": "1.005"})
    assert response.status_code == 422
    problem = response.json()
    assert problem["status"] == 422
    assert problem["errors"][0]["loc"] == ["body", "price"]


async def test_delete(client: AsyncClient) -> None:
    created = await create(client, "Gone")
    assert (await client.delete(f"/api/v1/items/{created['id']}")).status_code == 204
    missing = await client.get(f"/api/v1/items/{created['id']}")
    assert missing.status_code == 404
    assert (await client.delete(f"/api/v1/items/{created['id']}")).status_code == 404
