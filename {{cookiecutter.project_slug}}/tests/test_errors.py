from __future__ import annotations

import json

from fastapi import FastAPI
from httpx import AsyncClient

PROBLEM = "application/problem+json"


async def test_unknown_path_is_a_404_problem(client: AsyncClient) -> None:
    response = await client.get("/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "instance": "/nope",
    }


async def test_wrong_method_is_a_405_problem_with_allow(client: AsyncClient) -> None:
    response = await client.put("/livez")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    assert "GET" in response.headers["allow"]


async def test_405_allow_lists_every_method_of_the_path(client: AsyncClient) -> None:
    """One route per method share a path; `Allow` must name them all (found by schemathesis)."""
    response = await client.request("OPTIONS", "/api/v2/items")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


async def test_malformed_json_is_a_422_problem(client: AsyncClient) -> None:
    response = await client.post(
        "/api/v2/items", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


async def test_path_type_errors_do_not_echo_input(client: AsyncClient) -> None:
    response = await client.get("/api/v2/items/secret-token-value")
    assert response.status_code == 422
    assert "secret-token-value" not in json.dumps(response.json()["errors"])


async def test_unhandled_error_is_a_500_problem_without_trace(app: FastAPI) -> None:
    from asgi_lifespan import LifespanManager  # noqa: PLC0415 - local to this test
    from httpx import ASGITransport  # noqa: PLC0415

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("internal detail")

    async with (
        LifespanManager(app) as manager,
        AsyncClient(
            transport=ASGITransport(app=manager.app, raise_app_exceptions=False),
            base_url="http://test",
        ) as client,
    ):
        response = await client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert "internal detail" not in response.text
    assert "Traceback" not in response.text


async def test_security_headers(client: AsyncClient) -> None:
    response = await client.get("/livez")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "server" not in response.headers
    docs = await client.get("/docs")
    assert "content-security-policy" not in docs.headers


async def test_request_id_is_echoed_or_generated(client: AsyncClient) -> None:
    echoed = await client.get("/livez", headers={"x-request-id": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    replaced = await client.get("/livez", headers={"x-request-id": "bad id!"})
    assert replaced.headers["x-request-id"] != "bad id!"
    assert len(replaced.headers["x-request-id"]) == 32
