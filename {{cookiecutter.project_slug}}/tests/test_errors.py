from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from httpx import ASGITransport, AsyncClient
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from {{ cookiecutter.package_name }}.__main__ import server_options
from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.observability.logging import configure_logging
from {{ cookiecutter.package_name }}.settings import Settings
from tests.clients import app_client

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
    assert response.headers["allow"] == "GET, HEAD, POST"


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


async def test_an_error_after_the_response_started_reaches_the_server(app: FastAPI) -> None:
    """Too late for a problem: the error goes on to the server, which logs it and cuts the body."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b"partial"
        raise RuntimeError("mid-stream")

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        return StreamingResponse(chunks())

    async with app_client(app) as client:
        with pytest.raises(RuntimeError, match="mid-stream"):
            await client.get("/stream")


@pytest.mark.parametrize(
    ("error", "status"),
    [
        pytest.param(DBAPIError("SELECT", {}, ValueError("bad data")), 500, id="data-error"),
        pytest.param(IntegrityError("INSERT", {}, ValueError("check")), 500, id="integrity"),
        pytest.param(OperationalError("SELECT", {}, OSError("refused")), 503, id="operational"),
        pytest.param(
            DBAPIError("SELECT", {}, OSError("reset"), connection_invalidated=True),
            503,
            id="connection-lost",
        ),
        pytest.param(PoolTimeoutError("pool exhausted"), 503, id="pool-timeout"),
        pytest.param(ConnectionRefusedError(), 503, id="refused"),
    ],
)
async def test_only_connectivity_failures_are_503(
    app: FastAPI, error: Exception, status: int
) -> None:
    """Every DBAPIError was a 503 "database unavailable": NUL in a name on PostgreSQL too."""

    @app.get("/db")
    async def db() -> None:
        raise error

    async with app_client(app) as client:
        response = await client.get("/db")
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert ("retry-after" in response.headers) == (status == 503)


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


async def test_a_served_500_is_logged_once(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """Served by uvicorn with the production options: one error line (with the traceback and
    the request id), not a second one from the server for the exception re-raised to it."""
    app = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("internal detail")

    options = {**server_options(settings), "loop": "asyncio", "port": 0}
    del options["workers"]
    server = uvicorn.Server(uvicorn.Config(app, **options))
    configure_logging("INFO", "json")  # after uvicorn's Config, as in the served process
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:  # noqa: ASYNC110 - uvicorn signals start-up by this flag only
            await asyncio.sleep(0.01)
        port = sock.getsockname()[1]
        capsys.readouterr()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            response = await http.get("/boom", headers={"x-request-id": "boom-1"})
        server.should_exit = True
        await serving
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    errors = [line for line in lines if line["level"] in {"error", "critical"}]
    assert len(errors) == 1, errors
    assert errors[0]["request_id"] == "boom-1"
    assert "RuntimeError: internal detail" in errors[0]["exception"]
    configure_logging("INFO", "json")
