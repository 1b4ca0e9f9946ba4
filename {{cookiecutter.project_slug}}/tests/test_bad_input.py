"""Inputs fuzzing found: each must be a 4xx problem, never a 500."""

from __future__ import annotations

import json

import pytest
from httpx import AsyncClient

PROBLEM = "application/problem+json"


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("item_id", [0, -1, 2**63, 10**40])
async def test_ids_no_bigint_holds_are_404(client: AsyncClient, version: str, item_id: int) -> None:
    for method in ("GET", "DELETE"):
        response = await client.request(method, f"/api/{version}/items/{item_id}")
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        pytest.param(b'{"name": "\xff\xfe", "price_cents": 1}', "application/json", 400, id="utf8"),
        # Only application/json is parsed (tests/test_content_type.py has the other types).
        pytest.param(b'{"name": "cup", "price_cents": 1}', "text/plain", 415, id="text-plain"),
        # A lone surrogate escape is valid JSON but no UTF-8 the database can store.
        pytest.param(
            b'{"name": "\\ud800", "price_cents": 1}', "application/json", 422, id="surrogate"
        ),
    ],
)
async def test_unreadable_body_is_a_4xx_problem(
    client: AsyncClient, content: bytes, content_type: str, status: int
) -> None:
    response = await client.post(
        "/api/v2/items", content=content, headers={"content-type": content_type}
    )
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"name": "nul\x00byte"}, id="nul-in-name"),
        pytest.param({"name": "ok", "description": "nul\x00byte"}, id="nul-in-description"),
        pytest.param({"name": "bell\x07"}, id="control-in-name"),
        pytest.param({"name": "tab\tname"}, id="tab-in-name"),
        pytest.param({"name": "ok", "description": "escape\x1b[31m"}, id="control-in-description"),
        pytest.param({"name": "\ud83d"}, id="lone-surrogate"),
    ],
)
async def test_text_the_database_cannot_store_is_a_422(
    client: AsyncClient, version: str, fields: dict[str, str]
) -> None:
    """PostgreSQL refuses NUL in text: that was a 503 "database unavailable" (a lie, and a 5xx)."""
    price = {"price": "1.00"} if version == "v1" else {"price_cents": 100}
    response = await client.post(  # escaped JSON: httpx cannot encode a lone surrogate
        f"/api/{version}/items",
        content=json.dumps({**fields, **price}),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    listed = await client.get(f"/api/{version}/items")
    assert listed.json()["items"] == []


async def test_tabs_and_newlines_are_kept_in_descriptions(client: AsyncClient) -> None:
    text = "line one\n\tindented\r\nline three"
    response = await client.post(
        "/api/v2/items", json={"name": "multi", "description": text, "price_cents": 1}
    )
    assert response.status_code == 201
    assert response.json()["description"] == text


@pytest.mark.parametrize("name", [" ", "   ", "\t\n", "\u00a0\u2003"])
async def test_blank_names_are_a_422(client: AsyncClient, name: str) -> None:
    """Length is checked after stripping: a blank name was stored as ""."""
    response = await client.post("/api/v2/items", json={"name": name, "price_cents": 1})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "name"]


async def test_name_length_is_checked_after_stripping(client: AsyncClient) -> None:
    padded = "  " + "x" * 200 + "  "
    response = await client.post("/api/v2/items", json={"name": padded, "price_cents": 1})
    assert response.status_code == 201
    assert response.json()["name"] == "x" * 200
    too_long = await client.post("/api/v2/items", json={"name": "y" * 201, "price_cents": 1})
    assert too_long.status_code == 422


async def test_names_are_stored_in_nfc(client: AsyncClient) -> None:
    """An "é" typed as e + combining accent and as one code point is one name, not two."""
    decomposed = "Cafe\u0301"
    created = await client.post("/api/v2/items", json={"name": decomposed, "price_cents": 1})
    assert created.json()["name"] == "Caf\u00e9"
    again = await client.post("/api/v2/items", json={"name": "Caf\u00e9", "price_cents": 1})
    assert again.status_code == 409


@pytest.mark.parametrize("other", ["cup", "CUP", " cUp "])
async def test_names_are_unique_regardless_of_case(client: AsyncClient, other: str) -> None:
    """Names that differ only in case could not be told apart in a list: the second is a 409."""
    first = await client.post("/api/v2/items", json={"name": "Cup", "price_cents": 1})
    assert first.status_code == 201
    second = await client.post("/api/v1/items", json={"name": other, "price": "1.00"})
    assert second.status_code == 409
    assert second.headers["content-type"] == PROBLEM
    names = [item["name"] for item in (await client.get("/api/v2/items")).json()["items"]]
    assert names == ["Cup"]
