"""The query parameters of v2's list: filters and sort, read into an `items.listing.Listing`.

Each is documented where clients read it, in the OpenAPI parameter.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from fastapi import Query
from pydantic import AfterValidator

from {{ cookiecutter.package_name }}.items.listing import MAX_PRICE_CENTS, ItemFilter, ItemSort, Listing

# What no name holds (schemas.Name refuses it), and what PostgreSQL cannot take (NUL).
_REFUSED = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _as_names_are(value: str) -> str:
    """NFC, as names are stored: "é" typed as e + accent still matches."""
    if _REFUSED.search(value):
        raise ValueError("must not contain control characters")
    return unicodedata.normalize("NFC", value)


NamePrefix = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=200,
        description=(
            "Only items whose name starts with this, regardless of case (as the unique name "
            "compares: the database's lower(); ASCII only on SQLite)."
        ),
        examples=["esp"],
    ),
    AfterValidator(lambda value: None if value is None else _as_names_are(value)),
]
Price = Annotated[int | None, Query(ge=0, le=MAX_PRICE_CENTS)]
SORT_DESCRIPTION = (
    "Order of the items: `id` (the default), `name`, `price_cents` or `created_at`; `-` "
    "first for descending. Ties are broken by `id` in the same direction. Names compare "
    "lower-cased, by Unicode code point (not the server's locale). A `cursor` resumes only "
    "the sort and filters it was issued for (400 otherwise)."
)


async def listing_from_query(
    name_prefix: NamePrefix = None,
    price_min: Annotated[Price, Query(description="Only items costing at least this.")] = None,
    price_max: Annotated[
        Price, Query(description="Only items costing at most this; not below `price_min` (400).")
    ] = None,
    sort: Annotated[ItemSort, Query(description=SORT_DESCRIPTION)] = ItemSort.ID,
) -> Listing:
    """The listing a request asks for; price_min above price_max is a 400 (`ItemFilter`).

    Async, though it never waits: FastAPI runs a plain `def` dependency in its thread pool,
    which cost every list request a hand-off to a worker thread and back.
    """
    return Listing(sort, ItemFilter(name_prefix, price_min, price_max))
