"""Unit-of-work port: the storage a use case sees, so item rules run without a database.

A use case opens one unit, `write()` or `read()`, and reaches its repositories through it
(and, writing, the outbox when the service has events: `EventStaging` in items/events.py).
The SQL implementation is `db.engine.Sessions`; tests use in-memory fakes (tests/fakes.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from {{ cookiecutter.package_name }}.idempotency.keys import IdempotencyStore
from {{ cookiecutter.package_name }}.items.{{ "events_none" if cookiecutter.messaging == "none" else "events" }} import EventStaging
from {{ cookiecutter.package_name }}.items.listing import Listing, Position
from {{ cookiecutter.package_name }}.items.models import Item, ItemChanges, ItemRecord


class ItemReads(Protocol):
    """Reads of items (SQL: `items.repository.ItemReader`), each one statement."""

    async def get(self, item_id: int) -> ItemRecord | None:
        """The item, or None when no item has this id."""
        ...

    async def count(self) -> int:
        """Total number of items."""
        ...

    async def list_offset(self, offset: int, limit: int) -> Sequence[ItemRecord]:
        """One page by offset, ordered by id."""
        ...

    async def list_page(
        self, listing: Listing, after: Position | None, limit: int
    ) -> Sequence[ItemRecord]:
        """Up to `limit` items `listing` keeps, in its order, after `after` (from the start)."""
        ...


class ItemStore(ItemReads, Protocol):
    """The items repository of a writing unit (SQL: `items.repository.ItemRepository`)."""

    async def add(self, item: Item) -> ItemRecord:
        """Store a new item and give it its id; `ConflictError` when the name is taken."""
        ...

    async def delete(self, item_id: int, versions: frozenset[int] | None = None) -> bool:
        """Delete by id; True only for the one unit of work that removed the item.

        With `versions`, only an item at one of them is deleted.
        """
        ...

    async def update(
        self, item_id: int, changes: ItemChanges, versions: frozenset[int] | None
    ) -> ItemRecord | None:
        """Change the item and raise its version, if at one of `versions` (None: any).

        The item, or None when none matched; `ConflictError` when the name is taken. Of
        parallel updates from one version, exactly one matches.
        """
        ...


class ReadUnit(Protocol):
    """What a read sees: on the replica or the primary, outside any transaction; no writes."""

    @property
    def items(self) -> ItemReads:
        """The item reads of this unit."""
        ...


class UnitOfWork(EventStaging, Protocol):
    """One transaction: committed when its block ends, rolled back when the block raises.

    With events, `EventStaging` (items/events.py) gives it the outbox; without, nothing.
    """

    @property
    def items(self) -> ItemStore:
        """The items repository of this unit."""
        ...

    @property
    def idempotency(self) -> IdempotencyStore:
        """Idempotency keys, claimed and answered in this unit's transaction."""
        ...


class UnitsOfWork(Protocol):
    """Opens units of work; each use case opens its own, so a cache hit opens none."""

    def write(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A unit in one transaction on the primary."""
        ...

    def read(self) -> AbstractAsyncContextManager[ReadUnit]:
        """A read-only unit on the replica, or on the primary as the fallback."""
        ...
