"""Wire formats. v1 shows the price as a decimal string; v2 as integer cents (the change)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from {{ cookiecutter.package_name }}.items.money import PriceV1

Name = Annotated[str, Field(min_length=1, max_length=200, examples=["Espresso cup"])]
Description = Annotated[str | None, Field(default=None, max_length=2000)]


class ItemCreateV1(BaseModel):
    """v1 input: price in currency units with at most two decimals."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description = None
    price: PriceV1

    def price_in_cents(self) -> int:
        """Exact conversion; `decimal_places=2` guarantees no rounding is needed."""
        return int(self.price * 100)


class ItemV1(BaseModel):
    """v1 representation."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    price: Decimal


class ItemPageV1(BaseModel):
    """Offset page: simple, but slow and unstable on large, changing tables."""

    items: list[ItemV1]
    total: int
    offset: int
    limit: int


class ItemCreateV2(BaseModel):
    """v2 input: integer cents."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description = None
    price_cents: Annotated[int, Field(ge=0, le=100_000_000, examples=[1250])]


class ItemV2(BaseModel):
    """v2 representation: integer cents and timestamps."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    price_cents: int
    created_at: datetime
    updated_at: datetime


class ItemPageV2(BaseModel):
    """Cursor page: stable under inserts and served by the primary-key index."""

    items: list[ItemV2]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")
