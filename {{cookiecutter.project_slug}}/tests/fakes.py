"""In-memory stand-ins for the storage and cache ports: item use cases tested without a database.

The fakes keep the promises the SQL keeps (see `items.unit_of_work`): names are unique
regardless of case, ids grow, `write()` commits at the end of its block and rolls back when it
raises, `read()` never commits. The SQL itself is tested against SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import count

from {{ cookiecutter.package_name }}.cache import Cache
from {{ cookiecutter.package_name }}.errors import (
    ConflictError,
    IdempotencyKeyReusedError,
    RequestInProgressError,
)
from {{ cookiecutter.package_name }}.idempotency.keys import IdempotentRequest, StoredResponse
from {{ cookiecutter.package_name }}.items.listing import Listing, Position
from {{ cookiecutter.package_name }}.items.models import Item, ItemChanges, ItemRecord

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class FakeItemReads:
    """The item reads over a dict of records: what a read unit sees."""

    def __init__(self, rows: dict[int, ItemRecord]) -> None:
        self.rows = rows

    async def get(self, item_id: int) -> ItemRecord | None:
        return self.rows.get(item_id)

    async def count(self) -> int:
        return len(self.rows)

    async def list_offset(self, offset: int, limit: int) -> Sequence[ItemRecord]:
        return sorted(self.rows.values(), key=lambda item: item.id)[offset : offset + limit]

    async def list_page(
        self, listing: Listing, after: Position | None, limit: int
    ) -> Sequence[ItemRecord]:
        """The listing's rules in Python (`matches`, `order_key`), as the SQL applies them."""
        kept = [item for item in self.rows.values() if listing.filters.matches(item)]
        descending = listing.sort.descending
        kept.sort(key=listing.order_key, reverse=descending)
        if after is not None:
            last = after.order_key()
            kept = [
                item
                for item in kept
                if (
                    listing.order_key(item) < last if descending else listing.order_key(item) > last
                )
            ]
        return kept[:limit]


class FakeItems(FakeItemReads):
    """The items repository over a dict of records: the rows of one unit of work."""

    def __init__(self, rows: dict[int, ItemRecord], ids: Iterator[int]) -> None:
        super().__init__(rows)
        self._ids = ids

    async def add(self, item: Item) -> ItemRecord:
        if any(row.name.lower() == item.name.lower() for row in self.rows.values()):
            raise ConflictError(f"an item named {item.name!r} already exists")
        item.id = next(self._ids)
        item.created_at = item.updated_at = T0 + timedelta(seconds=item.id)
        item.version = 1
        self.rows[item.id] = added = ItemRecord.of(item)
        return added

    async def delete(self, item_id: int, versions: frozenset[int] | None = None) -> bool:
        row = self.rows.get(item_id)
        if row is None or (versions is not None and row.version not in versions):
            return False
        del self.rows[item_id]
        return True

    async def update(
        self, item_id: int, changes: ItemChanges, versions: frozenset[int] | None
    ) -> ItemRecord | None:
        row = self.rows.get(item_id)
        if row is None or (versions is not None and row.version not in versions):
            return None
        updated = replace(
            row,
            **changes,
            updated_at=row.updated_at + timedelta(milliseconds=1),
            version=row.version + 1,
        )
        name = updated.name.lower()
        if any(other.name.lower() == name for other in self.rows.values() if other.id != item_id):
            raise ConflictError(f"an item named {updated.name!r} already exists")
        self.rows[item_id] = updated
        return updated


class FakeOutbox:
    """Events staged by one unit of work; they reach `FakeDatabase.events` only on commit."""

    def __init__(self) -> None:
        self.staged: list[object] = []

    def add(self, event: object) -> None:
        self.staged.append(event)


@dataclass
class FakeKey:
    """A claimed idempotency key: the request it names, its answer once stored."""

    fingerprint: str
    expires_at: datetime
    answer: StoredResponse | None = None


Keys = dict[tuple[str, str], FakeKey]


class FakeIdempotency:
    """The idempotency store over a dict. A key claimed by a unit still open is in flight: a
    second unit claiming it gets `RequestInProgressError` at once (SQL would wait first)."""

    def __init__(self, keys: Keys, in_flight: set[tuple[str, str]]) -> None:
        self.keys = keys
        self._in_flight = in_flight
        self.claimed: set[tuple[str, str]] = set()

    async def claim(self, request: IdempotentRequest, now: datetime) -> StoredResponse | None:
        scoped = (request.caller, request.key)
        if scoped in self._in_flight:
            raise RequestInProgressError("in progress")
        known = self.keys.get(scoped)
        if known is None or known.expires_at <= now:
            self.keys[scoped] = FakeKey(request.fingerprint, now + request.ttl)
            self._in_flight.add(scoped)
            self.claimed.add(scoped)
            return None
        if known.fingerprint != request.fingerprint:
            raise IdempotencyKeyReusedError("reused")
        return known.answer

    async def complete(self, request: IdempotentRequest, response: StoredResponse) -> None:
        self.keys[request.caller, request.key].answer = response


class FakeUnitOfWork:
    """One unit: a private copy of the committed rows and keys, plus the events it staged."""

    def __init__(
        self,
        rows: dict[int, ItemRecord],
        ids: Iterator[int],
        keys: Keys | None = None,
        in_flight: set[tuple[str, str]] | None = None,
    ) -> None:
        self.items = FakeItems(dict(rows), ids)
        self.outbox = FakeOutbox()
        self.idempotency = FakeIdempotency(
            dict(keys or {}), set() if in_flight is None else in_flight
        )


@dataclass(frozen=True, slots=True)
class FakeReadUnit:
    """A read unit: the item reads, nothing that writes."""

    items: FakeItemReads


@dataclass
class FakeDatabase:
    """Committed state, and how often units were opened and committed."""

    rows: dict[int, ItemRecord] = field(default_factory=dict)
    events: list[object] = field(default_factory=list)
    ids: Iterator[int] = field(default_factory=lambda: count(1))
    keys: Keys = field(default_factory=dict)
    in_flight: set[tuple[str, str]] = field(default_factory=set)
    opened: int = 0
    commits: int = 0


class FakeUnitsOfWork:
    """The `UnitsOfWork` port in memory (sequential use only: no row locks)."""

    def __init__(self, database: FakeDatabase | None = None) -> None:
        self.database = database or FakeDatabase()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[FakeUnitOfWork]:
        """Committed when the block ends; when it raises, nothing it did is kept."""
        self.database.opened += 1
        database = self.database
        unit = FakeUnitOfWork(database.rows, database.ids, database.keys, database.in_flight)
        try:
            yield unit
        finally:
            database.in_flight -= unit.idempotency.claimed
        database.rows = unit.items.rows
        database.events += unit.outbox.staged
        database.keys = unit.idempotency.keys
        database.commits += 1

    @asynccontextmanager
    async def read(self) -> AsyncIterator[FakeReadUnit]:
        """Reads only, of the committed rows."""
        self.database.opened += 1
        yield FakeReadUnit(FakeItemReads(dict(self.database.rows)))


class FakeCache:
    """The `Cache` port over a dict, counting hits and misses."""

    def __init__(self) -> None:
        self.entries: dict[str, bytes] = {}
        self.versions: dict[str, int] = {}  # of the entries stored with one
        self.hits = self.misses = 0

    async def get(self, key: str) -> bytes | None:
        value = self.entries.get(key)
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
        return value

    async def set(self, key: str, value: bytes) -> None:
        self.entries[key] = value
        self.versions.pop(key, None)

    async def delete(self, key: str) -> None:
        self.entries.pop(key, None)
        self.versions.pop(key, None)

    async def set_if_newer(self, key: str, value: bytes, version: int) -> None:
        if self.versions.get(key, version) <= version:
            self.entries[key] = value
            self.versions[key] = version


class HeldFirstWrite:
    """Wraps a cache, holding its first versioned write until `release` is set.

    That write is a slow reader's: it missed, read the database, and has not stored what it
    read yet. `holding` is set once it waits, so a test can run an update in between.
    """

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    async def get(self, key: str) -> bytes | None:
        return await self.cache.get(key)

    async def set(self, key: str, value: bytes) -> None:
        await self.cache.set(key, value)

    async def delete(self, key: str) -> None:
        await self.cache.delete(key)

    async def set_if_newer(self, key: str, value: bytes, version: int) -> None:
        if not self.holding.is_set():
            self.holding.set()
            await self.release.wait()
        await self.cache.set_if_newer(key, value, version)
