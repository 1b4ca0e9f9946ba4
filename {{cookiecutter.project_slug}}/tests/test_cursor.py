"""v2 cursors are opaque and tamper-evident: only a cursor this service signed is accepted."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from httpx import AsyncClient

from {{ cookiecutter.package_name }}.errors import InvalidInputError
from {{ cookiecutter.package_name }}.items.cursor import MAX_LENGTH, CursorCodec
from {{ cookiecutter.package_name }}.items.listing import DEFAULT_LISTING, ItemFilter, ItemSort, Position

PROBLEM = "application/problem+json"
CODEC = CursorCodec(b"a test secret of more than thirty-two bytes")
OTHER = CursorCodec(b"another secret of more than thirty-two")


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def flip_last(cursor: str) -> str:
    return cursor[:-1] + ("A" if cursor[-1] != "A" else "B")


def at(item_id: int) -> Position:
    """The default listing's position after `item_id`."""
    return Position(ItemSort.ID, DEFAULT_LISTING.filters.fingerprint(), item_id, item_id)


FILTERED = ItemFilter("cup", 1, 2).fingerprint()


@pytest.mark.parametrize("item_id", [1, 42, 2**63 - 1])
def test_round_trip(item_id: int) -> None:
    assert CODEC.decode(CODEC.encode(at(item_id))) == at(item_id)


@pytest.mark.parametrize(
    "position",
    [
        Position(ItemSort.NAME, FILTERED, 3, "Tea: Grüner 🍵"),  # ":" and any character
        Position(ItemSort.NAME_DESC, FILTERED, 3, ""),
        Position(ItemSort.PRICE_DESC, FILTERED, 9, 0),
        Position(ItemSort.CREATED, FILTERED, 9, datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)),
        Position(ItemSort.CREATED_DESC, FILTERED, 9, datetime(1969, 12, 31, tzinfo=UTC)),
    ],
    ids=lambda position: str(position.sort),
)
def test_every_sort_round_trips(position: Position) -> None:
    assert CODEC.decode(CODEC.encode(position)) == position


def test_a_cursor_from_before_sorting_resumes_the_default_listing() -> None:
    """Issued as `<id>` alone: clients paging during the upgrade go on where they were."""
    assert CODEC.decode(CODEC.sign(b"42")) == at(42)


def test_the_longest_cursor_fits_the_parameter() -> None:
    longest = Position(ItemSort.NAME_DESC, FILTERED, 2**63 - 1, "🍵" * 200)
    assert len(CODEC.encode(longest)) == MAX_LENGTH
    latest = datetime.max.replace(tzinfo=UTC)
    other = Position(ItemSort.CREATED_DESC, FILTERED, 2**63 - 1, latest)
    assert len(CODEC.encode(other)) <= 104  # every sort but the name's


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("", id="empty"),
        pytest.param("!!!", id="not-base64"),
        pytest.param("aWQ6wrI", id="superscript-two"),  # `id:²`: str.isdigit() says yes
        pytest.param(b64(b"id:5"), id="unsigned-legacy"),
        pytest.param(b64(b"id:9223372036854775808"), id="legacy-out-of-range"),
        pytest.param(CODEC.encode(at(7))[:-3], id="truncated"),
        pytest.param(flip_last(CODEC.encode(at(7))), id="altered-tag"),
        pytest.param(CODEC.encode(at(7)) + "A", id="extended"),
        pytest.param(OTHER.encode(at(7)), id="other-key"),
        pytest.param("é" + CODEC.encode(at(7)), id="non-ascii"),
        pytest.param(b64(b":" + bytes(16)), id="tag-only"),
    ],
)
def test_anything_not_issued_is_rejected(cursor: str) -> None:
    with pytest.raises(InvalidInputError):
        CODEC.decode(cursor)


@pytest.mark.parametrize(
    "payload",
    [
        b"0",
        b"9223372036854775808",  # no BIGINT holds it
        b"id:00000000:0:",
        b"size:00000000:1:",  # no such sort
        b"name:0000000:1:x",  # a short fingerprint
        b"price_cents:00000000:1:1.5",
        b"created_at:00000000:1:",
        b"created_at:00000000:1:9999999999999999999",  # past datetime.max
        b"name:00000000:1",
        b"\xff",
    ],
)
def test_a_signed_payload_that_is_no_position_is_rejected(payload: bytes) -> None:
    """Signed by us yet not a position: only a leaked secret or a bug makes one."""
    with pytest.raises(InvalidInputError):
        CODEC.decode(CODEC.sign(payload))


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
    foreign = OTHER.encode(at(1))
    response = await client.get("/api/v2/items", params={"cursor": foreign})
    assert response.status_code == 400
