"""List rules as use cases on the in-memory fakes (tests/fakes.py): no database."""

from __future__ import annotations

import random

import pytest

from {{ cookiecutter.package_name }}.errors import InvalidInputError
from {{ cookiecutter.package_name }}.items.listing import ItemFilter, ItemSort, Listing
from {{ cookiecutter.package_name }}.items.service import ItemService
from tests.fakes import FakeUnitsOfWork


async def walk(service: ItemService, listing: Listing, limit: int) -> list[int]:
    seen: list[int] = []
    cursor: str | None = None
    while True:
        items, cursor = await service.page_by_cursor(cursor, limit, listing)
        seen += [item.id for item in items]
        if cursor is None:
            return seen


async def test_paging_any_listing_returns_each_matching_item_once_in_order(
    service: ItemService, units: FakeUnitsOfWork
) -> None:
    """A seeded property check: 40 listings of 30 random items, random page sizes."""
    rng = random.Random(1906)  # noqa: S311 - a reproducible sample, not a secret
    for n in range(30):
        name = "".join(rng.choice("aAbB: é") for _ in range(rng.randint(1, 4))) + str(n)
        await service.create(name, None, rng.choice([0, 5, 5, 10, 99]))
    rows = list(units.database.rows.values())
    for _ in range(40):
        low, high = sorted(rng.choice([None, 0, 5, 10, 99]) or 0 for _ in range(2))
        prefix = rng.choice([None, "a", "B", "é", "ab"])
        listing = Listing(rng.choice(list(ItemSort)), ItemFilter(prefix, low or None, high))
        kept = sorted(
            (row for row in rows if listing.filters.matches(row)),
            key=listing.order_key,
            reverse=listing.sort.descending,
        )
        assert await walk(service, listing, rng.randint(1, 7)) == [row.id for row in kept]


async def test_a_cursor_of_another_listing_is_refused_before_any_unit_opens(
    service: ItemService, units: FakeUnitsOfWork
) -> None:
    for name in ("a", "b", "c"):
        await service.create(name, None, 1)
    _, cursor = await service.page_by_cursor(None, 1, Listing(ItemSort.NAME))
    opened = units.database.opened
    for other in (Listing(ItemSort.NAME_DESC), Listing(ItemSort.NAME, ItemFilter("a"))):
        with pytest.raises(InvalidInputError, match="cursor belongs to"):
            await service.page_by_cursor(cursor, 1, other)
    assert units.database.opened == opened


def test_an_empty_price_range_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="price_min must not be greater"):
        ItemFilter(price_min=2, price_max=1)
    assert ItemFilter(price_min=2, price_max=2).fingerprint() != ItemFilter().fingerprint()


def test_sorts_are_fields_with_a_direction() -> None:
    assert [(s.field, s.descending) for s in (ItemSort.NAME, ItemSort.CREATED_DESC)] == [
        ("name", False),
        ("created_at", True),
    ]
