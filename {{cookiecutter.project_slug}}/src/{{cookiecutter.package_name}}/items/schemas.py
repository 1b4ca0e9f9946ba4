"""Wire formats. v1 shows the price as a decimal string; v2 as integer cents (the change)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from {{ cookiecutter.package_name }}.items.models import ItemChanges
from {{ cookiecutter.package_name }}.items.money import PriceV1

# What PostgreSQL cannot store (NUL; lone surrogates are no UTF-8) and what no one types in a
# name: C0/C1 controls and DEL. Descriptions keep tab, newline and carriage return.
_NAME_REFUSED = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_TEXT_REFUSED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _storable(refused: re.Pattern[str], what: str, max_length: int) -> AfterValidator:
    """Normalise to NFC, then refuse what cannot be stored.

    NFC makes "é" typed as one code point or as e + accent one text (and one name). It rarely
    lengthens a text, so the length is checked again.
    """

    def check(value: str) -> str:
        value = unicodedata.normalize("NFC", value)
        if refused.search(value):
            raise ValueError(f"must not contain {what}")
        if len(value) > max_length:
            raise ValueError(f"must have at most {max_length} characters in Unicode NFC")
        return value

    return AfterValidator(check)


# Stripped before the length is checked (pydantic-core strips first), so "  " is too short.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    _storable(_NAME_REFUSED, "control characters", 200),
    Field(
        description=(
            'Unique regardless of case: "Cup" and "cup" are the same name (409). Stored '
            "trimmed and in Unicode NFC; 1-200 characters after trimming; no control characters."
        ),
        examples=["Espresso cup"],
    ),
]
Text = Annotated[
    str,
    StringConstraints(max_length=2000),
    _storable(_TEXT_REFUSED, "control characters other than tab and line breaks", 2000),
]
Description = Annotated[Text | None, Field(default=None)]
# Strict: JSON `true` or `"12"` is no price (pydantic's lax mode read them as 1 and 12).
PriceCents = Annotated[int, Strict(), Field(ge=0, le=100_000_000, examples=[1250])]


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
    price_cents: PriceCents


# The record as the service hands it out, field for field, but for its version: that travels as
# the `ETag` header (api/conditional.py), so the body has one shape whatever the validator is
# (tests/test_items_v2.py checks the two lists of fields). The docstring is v2's description.
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


def _without_defaults(schema: dict[str, Any]) -> None:
    """A member left out is not null: the documented schema shows no defaults."""
    for member in schema.get("properties", {}).values():
        member.pop("default", None)


# A member left out is left as it is; `description: null` removes the description (RFC 7396).
# Name and price cannot be removed, so null is as invalid for them as any other wrong type.
class ItemPatchV2(BaseModel):
    """v2 update: a JSON Merge Patch (RFC 7396) of the fields a client may change."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_without_defaults)

    name: Name | SkipJsonSchema[None] = None
    description: Text | None = None
    price_cents: PriceCents | SkipJsonSchema[None] = None

    @field_validator("name", "price_cents")
    @classmethod
    def _not_null(cls, value: object) -> object:
        """Only a value that was sent is validated: None here is an explicit null."""
        if value is None:
            raise ValueError("must not be null: leave the member out to keep its value")
        return value

    def changes(self) -> ItemChanges:
        """The members the patch has, null ones included; `{}` changes nothing."""
        return cast("ItemChanges", self.model_dump(exclude_unset=True))
