"""How v2 lists items: its filters, its sort allow-list, and where a cursor resumes.

Every sort is a keyset order on (sort key, id), the id breaking ties, ascending or descending
as a whole: a page resumes strictly after the last row's pair, so rows inserted or deleted
meanwhile never shift a page (no row twice, none skipped that existed throughout).

Names sort and match by `lower(name)` in code point order (`db.collation`): the database's
lower(), as for the unique name (ASCII only on SQLite), and never the server's locale.
The SQL is in `items.repository`; `matches` and `order_key` are the same rules in Python.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from {{ cookiecutter.package_name }}.errors import InvalidInputError
from {{ cookiecutter.package_name }}.items.models import MAX_ID, MIN_ID

MAX_PRICE_CENTS = 100_000_000  # as ItemCreateV2 allows
# Above every character a name can hold after a prefix: the end of the prefix's range.
LAST_CODE_POINT = "\U0010ffff"
_FINGERPRINT = re.compile(r"[0-9a-f]{8}")
_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII only: str.isdigit() also accepts "²"
_NUMBER = re.compile(r"-?[0-9]{1,19}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ItemSort(StrEnum):
    """The sort allow-list: a field, `-` first for descending; ties are broken by id."""

    ID = "id"
    ID_DESC = "-id"
    NAME = "name"
    NAME_DESC = "-name"
    PRICE = "price_cents"
    PRICE_DESC = "-price_cents"
    CREATED = "created_at"
    CREATED_DESC = "-created_at"

    @property
    def field(self) -> str:
        """The item field sorted on."""
        return self.value.removeprefix("-")

    @property
    def descending(self) -> bool:
        """Whether the largest (sort key, id) comes first."""
        return self.value.startswith("-")


class Listed(Protocol):
    """What sorting and filtering read of an item (a row or a record)."""

    @property
    def id(self) -> int: ...  # noqa: D102
    @property
    def name(self) -> str: ...  # noqa: D102
    @property
    def price_cents(self) -> int: ...  # noqa: D102
    @property
    def created_at(self) -> datetime: ...  # noqa: D102


SortKey = int | str | datetime


@dataclass(frozen=True, slots=True)
class ItemFilter:
    """Rows a listing keeps; every bound is inclusive, None means no bound."""

    name_prefix: str | None = None  # compared as lower(name) starts with lower(prefix)
    price_min: int | None = None
    price_max: int | None = None

    def __post_init__(self) -> None:
        """An empty range is a client mistake, not an empty page."""
        low, high = self.price_min, self.price_max
        if low is not None and high is not None and low > high:
            raise InvalidInputError("price_min must not be greater than price_max")

    def fingerprint(self) -> str:
        """8 hex digits naming these filters, so a cursor is refused under other ones."""
        raw = repr((self.name_prefix, self.price_min, self.price_max)).encode()
        return hashlib.sha256(raw).hexdigest()[:8]

    def matches(self, item: Listed) -> bool:
        """The filter in Python (the in-memory fake store and tests)."""
        if self.name_prefix is not None and not item.name.lower().startswith(
            self.name_prefix.lower()
        ):
            return False
        if self.price_min is not None and item.price_cents < self.price_min:
            return False
        return self.price_max is None or item.price_cents <= self.price_max


@dataclass(frozen=True, slots=True)
class Listing:
    """One list request's order and filters (the cursor is the position within it)."""

    sort: ItemSort = ItemSort.ID
    filters: ItemFilter = field(default_factory=ItemFilter)

    def order_key(self, item: Listed) -> tuple[SortKey, int]:
        """The (sort key, id) pair rows are ordered by, in Python."""
        return sort_key(item, self.sort.field), item.id

    def after(self, item: Listed) -> Position:
        """The position just past `item`, for the next page's cursor."""
        value = item.name if self.sort.field == "name" else sort_key(item, self.sort.field)
        return Position(self.sort, self.filters.fingerprint(), item.id, value)


DEFAULT_LISTING = Listing()  # by id, unfiltered: what v2 listed before it could sort


def sort_key(item: Listed, field: str) -> SortKey:
    """One item's sort key in Python: names compare lower-cased, by code point."""
    if field == "name":
        return item.name.lower()
    value: SortKey = getattr(item, field)
    return value


@dataclass(frozen=True, slots=True)
class Position:
    """The last row of a page: its sort key and id, and the listing it belongs to.

    `key` is the raw value: the name itself (the database lower-cases it as it does the
    column), the price, the creation time; for the id sort, the id.
    """

    sort: ItemSort
    fingerprint: str
    id: int
    key: SortKey

    def resume(self, listing: Listing) -> Position:
        """Itself, if it belongs to `listing`: a cursor cannot change the sort or filters."""
        if self.sort != listing.sort:
            raise InvalidInputError(
                f"cursor belongs to sort={self.sort.value}: pass that sort or no cursor"
            )
        if self.fingerprint != listing.filters.fingerprint():
            raise InvalidInputError("cursor belongs to other filters: pass those or no cursor")
        return self

    def order_key(self) -> tuple[SortKey, int]:
        """The (sort key, id) pair in Python, as `Listing.order_key` makes it."""
        return (self.key.lower() if isinstance(self.key, str) else self.key), self.id

    def dump(self) -> bytes:
        """`sort:fingerprint:id:key`, the key last since a name may hold any character."""
        key = self.key
        if isinstance(key, datetime):
            key = (key - _EPOCH) // _MICROSECOND
        text = "" if self.sort.field == "id" else str(key)
        return f"{self.sort.value}:{self.fingerprint}:{self.id}:{text}".encode()

    @classmethod
    def parse(cls, payload: bytes) -> Position:
        """The position `dump` wrote; `ValueError` for anything else.

        A bare id is a cursor from before sorting existed: the default listing's position.
        """
        text = payload.decode()
        if _DIGITS.fullmatch(text):
            return cls(ItemSort.ID, ItemFilter().fingerprint(), _id(text), int(text))
        sort, fingerprint, item_id, key = text.split(":", 3)
        if not _FINGERPRINT.fullmatch(fingerprint):
            raise ValueError(fingerprint)
        parsed = ItemSort(sort)
        value: SortKey
        if parsed.field == "id":
            value = _id(item_id)
        elif parsed.field == "name":
            value = key
        elif _NUMBER.fullmatch(key):
            number = int(key)
            value = number if parsed.field == "price_cents" else _EPOCH + number * _MICROSECOND
        else:
            raise ValueError(key)
        return cls(parsed, fingerprint, _id(item_id), value)


_MICROSECOND = datetime.resolution


def _id(digits: str) -> int:
    if not _DIGITS.fullmatch(digits) or not MIN_ID <= int(digits) <= MAX_ID:
        raise ValueError(digits)
    return int(digits)
