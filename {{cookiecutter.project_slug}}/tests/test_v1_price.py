"""v1 prices: the schema says exactly which strings and numbers are accepted (found by fuzzing:
generated prices were mostly rejected, and undocumented forms like "1e2" were accepted)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from httpx import AsyncClient
from scripts import openapi

ACCEPTED: list[tuple[Any, str]] = [
    ("12.50", "12.50"),
    ("12.5", "12.50"),
    ("0", "0.00"),
    ("1000000", "1000000.00"),
    ("1000000.00", "1000000.00"),
    ("0012.50", "12.50"),
    ("12.500", "12.50"),
    (12, "12.00"),
    (12.5, "12.50"),
    (0.57, "0.57"),
    (57 * 0.01, "0.57"),  # 0.5700000000000001: a multiple of 0.01 as a binary float
    (999999.99, "999999.99"),
]
REJECTED: list[Any] = [
    " 12.5",
    "1e2",
    "+1",
    "-0",
    "1_0",
    "",
    ".5",
    "1000000.01",
    "12.345",
    "NaN",
    "١٢",  # Arabic-Indic digits: Decimal() reads them, the pattern does not
    0.123,
    -0.01,
    1000000.01,
    1e-300,
    1e308,  # found by the fuzzer: x 100 is infinite
    -1e308,
    True,
    None,
]


def price_schema() -> dict[str, Any]:
    spec = openapi.current_spec()
    schema: dict[str, Any] = spec["components"]["schemas"]["ItemCreateV1"]["properties"]["price"]
    return schema


def test_the_schema_states_the_format() -> None:
    variants = {variant["type"]: variant for variant in price_schema()["anyOf"]}
    assert set(variants) == {"string", "number"}
    number = {"type": "number", "minimum": 0, "maximum": 1_000_000, "multipleOf": 0.01}
    assert variants["number"] == number
    pattern = re.compile(variants["string"]["pattern"])
    for value, _ in ACCEPTED:
        if isinstance(value, str):
            assert pattern.search(value), value
    for value in REJECTED:
        if isinstance(value, str):
            assert not pattern.search(value), value


@pytest.mark.parametrize(("price", "shown"), ACCEPTED, ids=repr)
async def test_documented_prices_are_accepted(client: AsyncClient, price: Any, shown: str) -> None:
    response = await client.post("/api/v1/items", json={"name": repr(price), "price": price})
    assert response.status_code == 201, response.text
    assert Decimal(response.json()["price"]) == Decimal(shown)


@pytest.mark.parametrize("price", REJECTED, ids=repr)
async def test_undocumented_prices_are_rejected(client: AsyncClient, price: Any) -> None:
    response = await client.post("/api/v1/items", json={"name": "x", "price": price})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "price"]
