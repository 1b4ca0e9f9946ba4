"""Item rules: naming, pagination cursors, cache-aside reads{% if cookiecutter.messaging != "none" %} and domain events{% endif %}."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from prometheus_client import Counter
from pydantic import TypeAdapter

from {{ cookiecutter.package_name }}.cache import Cache
from {{ cookiecutter.package_name }}.clock import utcnow
from {{ cookiecutter.package_name }}.errors import DomainError, NotFoundError, PreconditionFailedError
from {{ cookiecutter.package_name }}.idempotency.keys import IdempotentRequest, Outcome, StoredResponse
from {{ cookiecutter.package_name }}.items.cursor import CursorCodec
from {{ cookiecutter.package_name }}.items.{{ "events_none" if cookiecutter.messaging == "none" else "events" }} import (
    record_created,
    record_deleted,
    record_updated,
)
from {{ cookiecutter.package_name }}.items.listing import DEFAULT_LISTING, Listing
from {{ cookiecutter.package_name }}.items.models import Item, ItemChanges, ItemRecord
from {{ cookiecutter.package_name }}.items.unit_of_work import ItemReads, UnitsOfWork


def record_format(record: type[object]) -> str:
    """Short hash of a cached record's JSON schema: it changes whenever the shape does."""
    schema = json.dumps(TypeAdapter(record).json_schema(), sort_keys=True)
    return hashlib.sha256(schema.encode()).hexdigest()[:8]


# A business metric, counted where the rule is: once per committed create, whatever the API version.
ITEMS_CREATED = Counter("items_created", "Items created through the API.")


# Part of every item key: entries of an older shape are never read, so no flush on deploy.
RECORD_FORMAT = record_format(ItemRecord)
# A cached record to and from JSON: validated when read back, as anything from outside is.
RECORDS = TypeAdapter(ItemRecord)


class ItemService:
    """Use cases for items; each one is a unit of work of its own (see `UnitsOfWork`)."""

    def __init__(self, sessions: UnitsOfWork, cache: Cache, cursors: CursorCodec) -> None:
        self._sessions = sessions
        self._cache = cache
        self._cursors = cursors

    async def create(self, name: str, description: str | None, price_cents: int) -> ItemRecord:
        """Create an item; a duplicate name is a conflict."""
        async with self._sessions.write() as unit:
            item = await unit.items.add(
                Item(name=name.strip(), description=description, price_cents=price_cents)
            )
            record_created(unit, item)
        ITEMS_CREATED.inc()
        return item

    async def create_once(
        self,
        name: str,
        description: str | None,
        price_cents: int,
        once: IdempotentRequest,
        render: Callable[[ItemRecord], StoredResponse],
    ) -> Outcome:
        """Create an item once per idempotency key: a retry gets the first answer again.

        The key is claimed first in the transaction, so a parallel retry waits for it; the
        answer (`render`, the API layer's) is stored in the transaction that creates the item
        and its event: committed together, or not at all (an error is never stored).
        """
        async with self._sessions.write() as unit:
            if (answer := await unit.idempotency.claim(once, utcnow())) is not None:
                return Outcome(answer, replayed=True)
            item = await unit.items.add(
                Item(name=name.strip(), description=description, price_cents=price_cents)
            )
            record_created(unit, item)
            answer = render(item)
            await unit.idempotency.complete(once, answer)
        ITEMS_CREATED.inc()
        return Outcome(answer, replayed=False)

    async def get(self, item_id: int) -> ItemRecord:
        """Read through the cache; the database stays the source of truth."""
        key = self._key(item_id)
        if (cached := await self._cache.get(key)) is not None:
            return RECORDS.validate_json(cached)
        async with self._sessions.read() as unit:
            record = await unit.items.get(item_id)
        if record is None:
            raise NotFoundError(f"item {item_id} does not exist")
        # An update may have committed and cached a newer version since this read: kept.
        await self._cache.set_if_newer(key, RECORDS.dump_json(record), record.version)
        return record

    async def update(
        self, item_id: int, changes: ItemChanges, versions: frozenset[int] | None
    ) -> ItemRecord:
        """Apply a merge patch if the item is at one of `versions` (None: at any version).

        One conditional statement, so of parallel updates from one version exactly one applies,
        with its event; the others are refused (412). The cache then gets the new version,
        which a slower reader's older copy can no longer replace. `{}` changes nothing.
        """
        if "name" in changes:
            changes = changes.copy()
            changes["name"] = changes["name"].strip()
        if not changes:
            return await self._unchanged(item_id, versions)
        async with self._sessions.write() as unit:
            record = await unit.items.update(item_id, changes, versions)
            if record is None:
                raise await self._refusal(unit.items, item_id)
            record_updated(unit, record, changes)
        key = self._key(item_id)
        await self._cache.set_if_newer(key, RECORDS.dump_json(record), record.version)
        return record

    async def delete(self, item_id: int, versions: frozenset[int] | None = None) -> None:
        """Delete and invalidate the cached copy; of parallel deletes exactly one succeeds.

        With `versions`, only an item at one of them is deleted (412 otherwise).
        """
        async with self._sessions.write() as unit:
            if not await unit.items.delete(item_id, versions):
                if versions is not None:
                    raise await self._refusal(unit.items, item_id)
                raise NotFoundError(f"item {item_id} does not exist")
            record_deleted(unit, item_id)
        await self._cache.delete(self._key(item_id))

    async def page_by_offset(self, offset: int, limit: int) -> tuple[list[ItemRecord], int]:
        """Items and total count for offset pagination (v1)."""
        async with self._sessions.read() as unit:
            return list(await unit.items.list_offset(offset, limit)), await unit.items.count()

    async def page_by_cursor(
        self, cursor: str | None, limit: int, listing: Listing = DEFAULT_LISTING
    ) -> tuple[list[ItemRecord], str | None]:
        """Items after the cursor and the next cursor, or None on the last page (v2).

        A cursor resumes only the listing (sort and filters) it was issued for.
        """
        after = self._cursors.decode(cursor).resume(listing) if cursor else None
        async with self._sessions.read() as unit:
            items = list(await unit.items.list_page(listing, after, limit + 1))
        if len(items) > limit:
            return items[:limit], self._cursors.encode(listing.after(items[limit - 1]))
        return items, None

    async def _unchanged(self, item_id: int, versions: frozenset[int] | None) -> ItemRecord:
        """An empty patch: the item as it is, if at one of `versions`; no write, no event.

        Read on the primary, where the version a client just got from an update is.
        """
        async with self._sessions.write() as unit:
            item = await unit.items.get(item_id)
            if item is None or (versions is not None and item.version not in versions):
                raise await self._refusal(unit.items, item_id)
            return item

    @staticmethod
    async def _refusal(items: ItemReads, item_id: int) -> DomainError:
        """Why a conditional change matched no row: no such item (404), or another version."""
        if await items.get(item_id) is None:
            return NotFoundError(f"item {item_id} does not exist")
        return PreconditionFailedError(
            f"item {item_id} is not at a version If-Match names: read it again, then retry"
        )

    @staticmethod
    def _key(item_id: int) -> str:
        return f"{RECORD_FORMAT}:items:{item_id}"
