"""v2's list: filters, each sort both ways over pages, cursors bound to their listing, and
query parameters the operation does not have (SQLite, and PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from httpx import AsyncClient

from {{ cookiecutter.package_name }}.items.listing import ItemFilter, ItemSort, Listing
from {{ cookiecutter.package_name }}.items.schemas import ItemV2

PATH = "/api/v2/items"
PROBLEM = "application/problem+json"
# Mixed case, shared prefixes and prices, so the name key and the id tiebreak both matter.
CATALOGUE = [
    ("Mug", 300),
    ("mat", 100),
    ("Espresso cup", 300),
    ("espresso pot", 900),
    ("Bowl", 100),
    ("MAP", 500),
    ("cup", 300),
    ("Tea: green", 100),
    ("tea: black", 700),
    ("Zest", 300),
]


async def create(client: AsyncClient, name: str, price_cents: int) -> ItemV2:
    response = await client.post(PATH, json={"name": name, "price_cents": price_cents})
    assert response.status_code == 201, response.text
    return ItemV2.model_validate(response.json())


async def walk(client: AsyncClient, params: dict[str, Any], limit: int) -> list[ItemV2]:
    """Every page of one listing, following `next_cursor` to the end."""
    seen: list[ItemV2] = []
    cursor: str | None = None
    while True:
        query = params | {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = await client.get(PATH, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [ItemV2.model_validate(item) for item in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            return seen


def expected(items: list[ItemV2], listing: Listing) -> list[int]:
    kept = [item for item in items if listing.filters.matches(item)]
    return [i.id for i in sorted(kept, key=listing.order_key, reverse=listing.sort.descending)]


@pytest.fixture
async def catalogue(client: AsyncClient) -> list[ItemV2]:
    return [await create(client, name, price) for name, price in CATALOGUE]


async def test_each_sort_pages_through_every_item_once_in_order(
    client: AsyncClient, catalogue: list[ItemV2]
) -> None:
    """One catalogue for all sorts: it is this module's most expensive setup."""
    for sort in ItemSort:
        seen = await walk(client, {"sort": sort.value}, limit=3)
        assert [item.id for item in seen] == expected(catalogue, Listing(sort)), sort


@pytest.mark.usefixtures("catalogue")
async def test_name_sort_ignores_case_and_orders_by_code_point(client: AsyncClient) -> None:
    names = [item.name for item in await walk(client, {"sort": "name"}, limit=4)]
    assert names[:4] == ["Bowl", "cup", "Espresso cup", "espresso pot"]
    assert names[-3:] == ["tea: black", "Tea: green", "Zest"]


async def test_name_prefix_matches_regardless_of_case(
    client: AsyncClient, catalogue: list[ItemV2]
) -> None:
    for prefix in ("ESP", "esp"):
        seen = await walk(client, {"name_prefix": prefix, "sort": "-name"}, limit=1)
        assert [item.name for item in seen] == ["espresso pot", "Espresso cup"]
    assert await walk(client, {"name_prefix": "ma"}, limit=5) == [catalogue[1], catalogue[5]]
    assert await walk(client, {"name_prefix": "mugs"}, limit=5) == []


@pytest.mark.usefixtures("catalogue")
async def test_price_range_is_inclusive(client: AsyncClient) -> None:
    seen = await walk(client, {"price_min": 300, "price_max": 500, "sort": "price_cents"}, 2)
    assert [(i.price_cents, i.name) for i in seen] == [
        (300, "Mug"),
        (300, "Espresso cup"),
        (300, "cup"),
        (300, "Zest"),
        (500, "MAP"),
    ]
    assert len(await walk(client, {"price_min": 700}, 5)) == 2
    assert len(await walk(client, {"price_max": 100}, 5)) == 3


async def test_filters_and_sorts_combine(client: AsyncClient, catalogue: list[ItemV2]) -> None:
    """A seeded sample of listings against the same rules in Python (items.listing)."""
    rng = random.Random(19)  # noqa: S311 - a reproducible sample, not a secret
    for _ in range(6):
        prefix = rng.choice([None, "e", "M", "tea", "c"])
        low, high = sorted(rng.choice([None, 100, 300, 700]) or 0 for _ in range(2))
        listing = Listing(rng.choice(list(ItemSort)), ItemFilter(prefix, low or None, high or None))
        params = {
            "sort": listing.sort.value,
            "name_prefix": prefix,
            "price_min": low or None,
            "price_max": high or None,
        }
        params = {name: value for name, value in params.items() if value is not None}
        seen = await walk(client, params, limit=rng.randint(1, 4))
        assert [item.id for item in seen] == expected(catalogue, listing), params


async def test_pages_are_stable_under_inserts_and_deletes(
    client: AsyncClient, catalogue: list[ItemV2]
) -> None:
    """Rows inserted before the cursor's position do not shift the next page."""
    first = (await client.get(PATH, params={"sort": "-price_cents", "limit": 4})).json()
    await create(client, "Anvil", 10_000)  # sorts first: already passed
    await create(client, "Apron", 1)  # sorts last: the walk will reach it
    await client.delete(f"{PATH}/{first['items'][-1]['id']}")  # the position's own row
    rest = await walk(client, {"sort": "-price_cents", "cursor": first["next_cursor"]}, 3)
    listing = Listing(ItemSort.PRICE_DESC)
    after = sorted(catalogue, key=listing.order_key, reverse=True)[4:]
    assert [i.name for i in rest] == [i.name for i in after] + ["Apron"]


@pytest.mark.parametrize(
    ("issued", "used"),
    [
        ({"sort": "name"}, {"sort": "-name"}),
        ({"sort": "name"}, {}),
        ({"price_min": 100}, {"price_min": 101}),
        ({"name_prefix": "e"}, {}),
    ],
)
async def test_a_cursor_resumes_only_its_own_listing(
    client: AsyncClient, issued: dict[str, Any], used: dict[str, Any]
) -> None:
    for name in ("espresso", "eggcup"):
        await create(client, name, 200)
    cursor = (await client.get(PATH, params=issued | {"limit": 1})).json()["next_cursor"]
    response = await client.get(PATH, params=used | {"cursor": cursor})
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert "cursor belongs to" in response.json()["detail"]


async def test_price_min_above_price_max_is_a_400(client: AsyncClient) -> None:
    response = await client.get(PATH, params={"price_min": 2, "price_max": 1})
    assert (response.status_code, response.headers["content-type"]) == (400, PROBLEM)
    assert response.json()["detail"] == "price_min must not be greater than price_max"


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "description"},
        {"sort": "+id"},
        {"price_min": -1},
        {"name_prefix": ""},
        {"name_prefix": "a\x00"},
        {"price_max": 2**63},
    ],
)
async def test_invalid_values_are_422(client: AsyncClient, params: dict[str, Any]) -> None:
    response = await client.get(PATH, params=params)
    assert (response.status_code, response.headers["content-type"]) == (422, PROBLEM)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", PATH), ("POST", PATH), ("GET", f"{PATH}/1"), ("DELETE", f"{PATH}/1"), ("HEAD", PATH)],
)
async def test_unknown_query_parameters_on_v2_are_a_400_naming_them(
    client: AsyncClient, method: str, path: str
) -> None:
    params: dict[str, str | int] = {"sort_by": "name", "pricemax": 5}
    response = await client.request(method, path, params=params, json={"name": "x"})
    assert response.status_code == 400
    if method != "HEAD":
        assert response.json()["detail"] == "unknown query parameter: pricemax, sort_by"


async def test_v1_still_ignores_unknown_query_parameters(client: AsyncClient) -> None:
    """v1 is frozen: a client sending a cache buster keeps working until the sunset."""
    response = await client.get("/api/v1/items", params={"_": "123", "sort": "name"})
    assert response.status_code == 200
