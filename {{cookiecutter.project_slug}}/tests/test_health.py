from __future__ import annotations

from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient

from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.settings import Settings
from tests.cache import CACHE_STATES, UNREACHABLE
from tests.conftest import ROOT


async def test_livez(client: AsyncClient) -> None:
    response = await client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {}}


async def test_startupz(client: AsyncClient) -> None:
    response = await client.get("/startupz")
    assert response.status_code == 200


async def test_readyz_checks_the_database(client: AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"].get("cache") in CACHE_STATES


async def test_readyz_is_503_when_the_database_is_down() -> None:
    settings = Settings(
        _env_file=None,
        database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none",
        database_connect_timeout=0.5,
        alembic_config=ROOT / "alembic.ini",
        **UNREACHABLE,  # type: ignore[arg-type]  # fields of the generated cache option
    )
    app = create_app(settings)
    async with (
        LifespanManager(app) as manager,
        AsyncClient(transport=ASGITransport(app=manager.app), base_url="http://test") as client,
    ):
        ready = await client.get("/readyz")
        starting = await client.get("/startupz")
        live = await client.get("/livez")
        write = await client.post("/api/v2/items", json={"name": "x", "price_cents": 1})
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert ready.json()["checks"] == {"database": "down"}
    assert starting.status_code == 503
    assert starting.json()["checks"] == {"database": "down"}
    assert live.status_code == 200
    assert write.status_code == 503
    assert write.headers["retry-after"] == "5"


async def test_metrics_use_route_templates(client: AsyncClient) -> None:
    await client.get("/api/v2/items/12345")
    body = (await client.get("/metrics")).text
    assert 'http_route="/api/v2/items/{item_id}"' in body
    assert "/api/v2/items/12345" not in body
    assert "http_server_active_requests" in body
    assert 'le="0.3"' in body
