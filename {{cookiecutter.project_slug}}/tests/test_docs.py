"""`/docs` and `/redoc` work offline: every asset they load is served by the app itself."""

from __future__ import annotations

import re

import pytest
from httpx import AsyncClient

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")
CONTENT_TYPES = {
    ".js": "javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".json": "application/json",
}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_load_only_same_origin_assets(client: AsyncClient, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    html = response.text
    assert "://" not in html, "a page that loads from another origin is blank offline"
    assets = {a or b for a, b in ASSET.findall(html)}
    assert any(a.endswith(".js") for a in assets), assets
    for asset in assets:
        assert asset.startswith("/"), asset
        loaded = await client.get(asset)
        assert loaded.status_code == 200, asset
        suffix = asset[asset.rfind(".") :]
        assert CONTENT_TYPES[suffix] in loaded.headers["content-type"], asset
