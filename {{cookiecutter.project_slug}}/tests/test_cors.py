"""CORS (api/cors.py): browsers of the configured origins only; others learn nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient, Response

from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.settings import Settings
from tests.clients import app_client

ORIGIN = "https://app.example.com"
ITEM = "/api/v2/items/1"


@pytest.fixture
async def browser(settings: Settings, bearer: dict[str, str]) -> AsyncIterator[AsyncClient]:
    app = create_app(settings.model_copy(update={"cors_origins": [ORIGIN]}))
    async with app_client(app, bearer) as http:
        yield http


async def preflight(client: AsyncClient, origin: str) -> Response:
    return await client.options(
        ITEM,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type, if-match",
        },
    )


def cors_fields(response: Response) -> set[str]:
    return {name for name in response.headers if name.startswith("access-control-")}


async def test_a_configured_origin_may_use_every_method_and_header_of_the_api(
    browser: AsyncClient,
) -> None:
    response = await preflight(browser, ORIGIN)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert methods == {"GET", "HEAD", "POST", "PATCH", "DELETE"}
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert {
        "authorization",
        "if-match",
        "if-none-match",
        "idempotency-key",
        "x-request-id",
    } <= allowed


async def test_a_configured_origin_reads_the_fields_clients_act_on(browser: AsyncClient) -> None:
    response = await browser.get("/api/v2/items", headers={"Origin": ORIGIN})
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert {"etag", "location", "retry-after", "ratelimit", "ratelimit-policy"} <= exposed
    assert {"deprecation", "sunset", "link", "x-request-id"} <= exposed


async def test_a_preflight_from_another_origin_gets_no_cors_field(browser: AsyncClient) -> None:
    response = await preflight(browser, "https://evil.example")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert cors_fields(response) == set()


async def test_without_cors_origins_there_is_no_cors_at_all(client: AsyncClient) -> None:
    response = await preflight(client, ORIGIN)
    assert cors_fields(response) == set()
