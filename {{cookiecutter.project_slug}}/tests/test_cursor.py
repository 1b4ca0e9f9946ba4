"""v2 cursors are opaque and tamper-evident: only a cursor this service signed is accepted."""

from __future__ import annotations

import base64

import pytest
from httpx import AsyncClient

from {{ cookiecutter.package_name }}.errors import InvalidInputError
from {{ cookiecutter.package_name }}.items.cursor import CursorCodec

PROBLEM = "application/problem+json"
CODEC = CursorCodec(b"a test secret of more than thirty-two bytes")
OTHER = CursorCodec(b"another secret of more than thirty-two")


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def flip_last(cursor: str) -> str:
    return cursor[:-1] + ("A" if cursor[-1] != "A" else "B")


@pytest.mark.parametrize("item_id", [1, 42, 2**63 - 1])
def test_round_trip(item_id: int) -> None:
    assert CODEC.decode(CODEC.encode(item_id)) == item_id


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("", id="empty"),
        pytest.param("!!!", id="not-base64"),
        pytest.param("aWQ6wrI", id="superscript-two"),  # `id:²`: str.isdigit() says yes
        pytest.param(b64(b"id:5"), id="unsigned-legacy"),
        pytest.param(b64(b"id:9223372036854775808"), id="legacy-out-of-range"),
        pytest.param(CODEC.encode(7)[:-3], id="truncated"),
        pytest.param(flip_last(CODEC.encode(7)), id="altered-tag"),
        pytest.param(CODEC.encode(7) + "A", id="extended"),
        pytest.param(OTHER.encode(7), id="other-key"),
        pytest.param("é" + CODEC.encode(7), id="non-ascii"),
    ],
)
def test_anything_not_issued_is_rejected(cursor: str) -> None:
    with pytest.raises(InvalidInputError):
        CODEC.decode(cursor)


def test_a_signed_id_out_of_range_is_rejected() -> None:
    """Even correctly signed, an id no BIGINT holds (or 0) is not a position."""
    for item_id in (0, 2**63):
        with pytest.raises(InvalidInputError):
            CODEC.decode(CODEC.sign(str(item_id).encode()))


@pytest.mark.parametrize(
    "cursor",
    ["aWQ6wrI", b64(b"id:9223372036854775808"), b64(b"id:1"), "not-a-cursor", "====", "-_-_"],
)
async def test_forged_cursors_are_400_problems(client: AsyncClient, cursor: str) -> None:
    response = await client.get("/api/v2/items", params={"cursor": cursor})
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == "cursor is not one this API issued"


async def test_cursor_from_another_deployment_is_a_400(client: AsyncClient) -> None:
    for n in range(3):
        await client.post("/api/v2/items", json={"name": f"c{n}", "price_cents": n})
    issued = (await client.get("/api/v2/items", params={"limit": 1})).json()["next_cursor"]
    assert (await client.get("/api/v2/items", params={"cursor": issued})).status_code == 200
    foreign = OTHER.encode(1)
    response = await client.get("/api/v2/items", params={"cursor": foreign})
    assert response.status_code == 400
