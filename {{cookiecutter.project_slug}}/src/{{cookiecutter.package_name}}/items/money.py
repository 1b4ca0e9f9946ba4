"""v1's decimal price, accepted exactly as its schema describes it.

A string must match `PRICE_PATTERN` (plain ASCII decimal, at most two significant decimals, up
to 1,000,000); a JSON number must be a multiple of 0.01 in that range. A binary float cannot
hold most cents exactly (57 * 0.01 is 0.5700000000000001), so a number within a relative
1e-12 of a whole number of cents counts as that many cents: what a JSON Schema `multipleOf`
means for a client that computed its price in floating point.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

MAX_PRICE = 1_000_000
PRICE_PATTERN = r"^0*([0-9]{1,6}(\.[0-9]{0,2}0*)?|1000000(\.0*)?)$"
CENT_TOLERANCE = 1e-12
_PRICE = re.compile(PRICE_PATTERN)


def exact_price(value: Any) -> Any:  # noqa: ANN401 - a validator sees any JSON value
    """Refuse the string forms `Decimal()` reads but the schema does not name; snap floats."""
    if isinstance(value, str):
        if not _PRICE.fullmatch(value):
            raise PydanticCustomError(
                "price_format", "Price must be a decimal like 12.50, at most 1000000"
            )
        return Decimal(value)
    if isinstance(value, float) and 0 <= value <= MAX_PRICE:  # out of range: Field says so
        cents = round(value * 100)
        if math.isclose(value * 100, cents, rel_tol=CENT_TOLERANCE, abs_tol=0):
            return Decimal(cents).scaleb(-2)
    return value


PriceV1 = Annotated[
    Decimal,
    BeforeValidator(exact_price),
    Field(ge=0, le=MAX_PRICE, decimal_places=2),
    WithJsonSchema(
        {
            "title": "Price",
            "anyOf": [
                {"type": "string", "pattern": PRICE_PATTERN},
                {"type": "number", "minimum": 0, "maximum": MAX_PRICE, "multipleOf": 0.01},
            ],
            "examples": ["12.50"],
        }
    ),
]
