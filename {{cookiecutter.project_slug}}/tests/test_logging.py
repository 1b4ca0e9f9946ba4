from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient

from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.observability.logging import configure_logging
from {{ cookiecutter.package_name }}.settings import Settings


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """capsys swaps stdout per test: point the handler back at the real one afterwards."""
    yield
    configure_logging("INFO", "json")


async def test_one_json_access_line_per_request(
    client: AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "json")
    capsys.readouterr()
    await client.get("/api/v2/items/7", headers={"x-request-id": "req-1"})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    access = [line for line in lines if line.get("logger") == "access"]
    assert len(access) == 1
    assert access[0]["request_id"] == "req-1"
    assert access[0]["http_route"] == "/api/v2/items/{item_id}"
    assert access[0]["http_status"] == 404
    assert access[0]["timestamp"].endswith("Z")


async def test_quiet_paths_are_logged_only_when_they_fail(
    settings: Settings, bearer: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Probes every few seconds would bury the other lines; a failing probe must still show."""
    app = create_app(settings.model_copy(update={"quiet_paths": ["/livez", "/api/v2/items/9"]}))
    configure_logging("INFO", "json")
    capsys.readouterr()
    async with (
        LifespanManager(app) as manager,
        AsyncClient(
            transport=ASGITransport(app=manager.app), base_url="http://test", headers=bearer
        ) as http,
    ):
        assert (await http.get("/livez")).status_code == 200
        assert (await http.get("/api/v2/items/9")).status_code == 404
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    access = [line for line in lines if line.get("logger") == "access"]
    assert [line["http_route"] for line in access] == ["/api/v2/items/{item_id}"]


def test_stdlib_logs_share_the_pipeline(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "console")  # not a TTY under pytest, so still JSON
    logging.getLogger("uvicorn.error").warning("from uvicorn")
    structlog.get_logger("mine").info("from structlog", key="value")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert {"event": "from uvicorn", "level": "warning"}.items() <= lines[0].items()
    assert lines[1]["key"] == "value"
