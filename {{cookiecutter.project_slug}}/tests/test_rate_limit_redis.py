"""The rate limit's Redis store down: requests are served, counted, logged once per interval."""

from __future__ import annotations

import json
import secrets

import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr

from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.observability.logging import configure_logging
from {{ cookiecutter.package_name }}.settings import Settings
from tests.clients import app_client

UNREACHABLE = "redis://127.0.0.1:1/0"  # a real client, refused by the kernel


async def test_an_unreachable_store_fails_open_counted_and_logged_once_per_interval(
    settings: Settings, bearer: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(
        settings.model_copy(
            update={
                "rate_limit": "1/hour",
                "rate_limit_storage_url": SecretStr(UNREACHABLE),
                "service_name": f"rate-limit-test-{secrets.token_hex(4)}",
            }
        )
    )
    configure_logging("INFO", "json")
    before = REGISTRY.get_sample_value("rate_limit_storage_errors_total") or 0.0
    async with app_client(app, bearer) as client:
        capsys.readouterr()
        responses = [await client.get("/api/v2/items") for _ in range(3)]
    out = capsys.readouterr().out
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert all("ratelimit" not in r.headers for r in responses)
    assert REGISTRY.get_sample_value("rate_limit_storage_errors_total") == before + 3
    warnings = [
        json.loads(line) for line in out.splitlines() if "rate limit store unavailable" in line
    ]
    assert len(warnings) == 1, out
    assert warnings[0]["level"] == "warning"
