"""Media types: bodies are JSON in UTF-8 or 415; 204 has no body type; HEAD works where GET does."""

from __future__ import annotations

import pytest
from httpx import AsyncClient

PROBLEM = "application/problem+json"
BODY = b'{"name": "cup", "price_cents": 1}'


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON; Charset=UTF-8"],
)
async def test_json_bodies_are_accepted(client: AsyncClient, content_type: str) -> None:
    response = await client.post(
        "/api/v2/items", content=BODY, headers={"content-type": content_type}
    )
    assert response.status_code == 201


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/vnd.api+json",
        "application/json; charset=latin-1",
        "application/jsonx",
        "",
        None,
    ],
)
async def test_other_bodies_are_415(
    client: AsyncClient, version: str, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    response = await client.post(f"/api/{version}/items", content=BODY, headers=headers)
    assert response.status_code == 415
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["accept-post"] == "application/json"
    assert (await client.get(f"/api/{version}/items")).json()["items"] == []


async def test_bodyless_requests_need_no_content_type(client: AsyncClient) -> None:
    assert (await client.get("/api/v2/items", headers={"content-type": "text/plain"})).is_success


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_204_has_no_content_type_and_no_body(client: AsyncClient, version: str) -> None:
    price = {"price": "1.00"} if version == "v1" else {"price_cents": 100}
    item = (await client.post(f"/api/{version}/items", json={"name": "d", **price})).json()
    response = await client.delete(f"/api/{version}/items/{item['id']}")
    assert response.status_code == 204
    assert "content-type" not in response.headers
    assert "content-length" not in response.headers or response.headers["content-length"] == "0"
    assert response.content == b""


@pytest.mark.parametrize(
    "path", ["/api/v2/items", "/api/v1/items", "/api/v2/items/{id}", "/api/v1/items/{id}", "/livez"]
)
async def test_head_answers_like_get_without_a_body(client: AsyncClient, path: str) -> None:
    item = (await client.post("/api/v2/items", json={"name": "h", "price_cents": 1})).json()
    url = path.format(id=item["id"])
    get = await client.get(url)
    head = await client.head(url)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    missing = await client.head(path.format(id=item["id"] + 1000)) if "{id}" in path else get
    assert missing.status_code == (404 if "{id}" in path else 200)


async def test_405_allow_names_head_with_get(client: AsyncClient) -> None:
    response = await client.put("/api/v2/items")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"


async def test_openapi_lists_no_head_operations(client: AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert all("head" not in operations for operations in paths.values())
