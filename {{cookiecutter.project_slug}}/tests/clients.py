"""An app under test with its lifespan running, and an HTTP client to it over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient


@asynccontextmanager
async def app_client(
    app: FastAPI, headers: Mapping[str, str] | None = None, base_url: str = "http://test"
) -> AsyncIterator[AsyncClient]:
    """Start-up, a client (sending `headers` on every request, e.g. a bearer token), shutdown."""
    async with (
        LifespanManager(app) as manager,
        AsyncClient(
            transport=ASGITransport(app=manager.app), base_url=base_url, headers=headers
        ) as http,
    ):
        yield http
