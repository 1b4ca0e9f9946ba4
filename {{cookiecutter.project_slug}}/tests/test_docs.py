"""`/docs` works offline: every asset it loads is served by the app itself."""

from __future__ import annotations

import re

from httpx import AsyncClient

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")
CONTENT_TYPES = {
    ".js": "javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".json": "application/json",
}


async def test_docs_load_only_same_origin_assets(client: AsyncClient) -> None:
    response = await client.get("/docs")
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


async def test_redoc_is_off(client: AsyncClient) -> None:
    """Its script is not in the image (see the Dockerfile), so the page is not served either."""
    assert (await client.get("/redoc")).status_code == 404
