"""Every v1 response, success or problem, says v1 is deprecated and names its v2 successor."""

from __future__ import annotations

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Headers

NOTICE = ("deprecation", "sunset", "link")


def assert_deprecated(headers: Headers, successor: str) -> None:
    assert headers["deprecation"].startswith("@"), headers
    assert headers["sunset"].endswith(" GMT"), headers
    assert headers["link"] == f'<{successor}>; rel="successor-version"', headers


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "successor"),
    [
        ("GET", "/api/v1/items", None, 200, "/api/v2/items"),
        ("GET", "/api/v1/items/987654", None, 404, "/api/v2/items/987654"),
        ("DELETE", "/api/v1/items/987654", None, 404, "/api/v2/items/987654"),
        ("GET", "/api/v1/items/not-a-number", None, 422, "/api/v2/items/not-a-number"),
        ("GET", "/api/v1/items?limit=0", None, 422, "/api/v2/items"),
        ("POST", "/api/v1/items", {"name": "x", "price": "1.005"}, 422, "/api/v2/items"),
        ("PUT", "/api/v1/items/3", None, 405, "/api/v2/items/3"),
        ("GET", "/api/v1/nothing/here", None, 404, "/api/v2/nothing/here"),
    ],
)
async def test_every_v1_response_carries_the_notice(  # noqa: PLR0913, PLR0917 - one row of the table
    client: AsyncClient, method: str, path: str, body: object, status: int, successor: str
) -> None:
    response = await client.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert_deprecated(response.headers, successor)


async def test_created_and_conflicting_items_link_to_their_v2_resource(
    client: AsyncClient,
) -> None:
    created = await client.post("/api/v1/items", json={"name": "Cup", "price": "1.00"})
    assert created.status_code == 201
    assert_deprecated(created.headers, "/api/v2/items")
    item = f"/api/v1/items/{created.json()['id']}"
    read = await client.get(item)
    assert_deprecated(read.headers, item.replace("/v1/", "/v2/"))
    conflict = await client.post("/api/v1/items", json={"name": "Cup", "price": "1.00"})
    assert conflict.status_code == 409
    assert_deprecated(conflict.headers, "/api/v2/items")
    gone = await client.delete(item)
    assert gone.status_code == 204
    assert_deprecated(gone.headers, item.replace("/v1/", "/v2/"))


async def test_an_oversized_v1_body_is_refused_with_the_notice(client: AsyncClient) -> None:
    response = await client.post(
        "/api/v1/items", content=b"x" * 2_000_000, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert_deprecated(response.headers, "/api/v2/items")


async def test_the_successor_link_is_a_valid_uri_reference(client: AsyncClient) -> None:
    """A decoded path may hold `>` or spaces: they must not break the Link syntax."""
    response = await client.get("/api/v1/items/a%3Eb%20c")
    assert response.status_code == 422
    assert_deprecated(response.headers, "/api/v2/items/a%3Eb%20c")


async def test_other_versions_carry_no_notice(client: AsyncClient) -> None:
    for path in ("/api/v2/items", "/api/v2/items/987654", "/api/v10/items", "/livez"):
        response = await client.get(path)
        assert not any(name in response.headers for name in NOTICE), (path, response.headers)


async def test_an_unexpected_v1_error_carries_the_notice(app: FastAPI) -> None:
    """A 500 is sent from outside every middleware; the notice must still be there."""

    @app.get("/api/v1/items-boom/{n}")
    async def boom(n: int) -> None:
        raise RuntimeError(n)

    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        LifespanManager(app),
        AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        response = await client.get("/api/v1/items-boom/1")
    assert response.status_code == 500
    assert_deprecated(response.headers, "/api/v2/items-boom/1")
