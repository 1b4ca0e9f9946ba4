"""The v2 shapes P and L answer with, restated: neither imports the service, whose cost it is."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class ItemOut(BaseModel):
    """The v2 representation of an item."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    price_cents: int
    created_at: datetime
    updated_at: datetime


class ItemPage(BaseModel):
    """A first page and where the next one starts, in the v2 shape."""

    items: list[ItemOut]
    next_cursor: str | None


class ItemIn(BaseModel):
    """What a create sends."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str | None = None
    price_cents: Annotated[int, Field(ge=0)]


class ItemPatch(BaseModel):
    """The fields a merge patch may change; absent ones stay as they are."""

    name: str | None = None
    description: str | None = None
    price_cents: Annotated[int | None, Field(ge=0)] = None


class Health(BaseModel):
    """What `/livez` answers."""

    status: Literal["ok"]
    checks: dict[str, str] = {}
