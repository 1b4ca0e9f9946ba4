"""Item rules: naming, pagination cursors, cache-aside reads{% if cookiecutter.messaging != "none" %} and domain events{% endif %}."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from {{ cookiecutter.package_name }}.cache import Cache
from {{ cookiecutter.package_name }}.errors import InvalidInputError, NotFoundError
{%- if cookiecutter.messaging != "none" %}
from {{ cookiecutter.package_name }}.events.outbox import Outbox
from {{ cookiecutter.package_name }}.events.schemas import ItemCreated, ItemDeleted
{%- endif %}
from {{ cookiecutter.package_name }}.items.models import Item
from {{ cookiecutter.package_name }}.items.repository import ItemRepository
from {{ cookiecutter.package_name }}.items.schemas import ItemV2


def encode_cursor(item_id: int) -> str:
    """Opaque cursor, so clients cannot depend on it being an id."""
    return base64.urlsafe_b64encode(f"id:{item_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """Inverse of `encode_cursor`; anything else is the client's error, not ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, binascii.Error) as exc:
        raise InvalidInputError("cursor is not one this API issued") from exc
    prefix, _, value = raw.partition(":")
    if prefix != "id" or not value.isdigit():
        raise InvalidInputError("cursor is not one this API issued")
    return int(value)


class ItemService:
    """Use cases for items; the request's session dependency commits or rolls back."""
{% if cookiecutter.messaging != "none" %}
    def __init__(self, repository: ItemRepository, cache: Cache, outbox: Outbox) -> None:
        self._repository = repository
        self._cache = cache
        self._outbox = outbox
{%- else %}
    def __init__(self, repository: ItemRepository, cache: Cache) -> None:
        self._repository = repository
        self._cache = cache
{%- endif %}

    async def create(self, name: str, description: str | None, price_cents: int) -> Item:
        """Create an item; a duplicate name is a conflict."""
        item = Item(name=name.strip(), description=description, price_cents=price_cents)
{%- if cookiecutter.messaging != "none" %}
        await self._repository.add(item)
        # Same transaction as the insert: the event exists if and only if the item does.
        self._outbox.add(ItemCreated(item_id=item.id, name=item.name, price_cents=price_cents))
        return item
{%- else %}
        return await self._repository.add(item)
{%- endif %}

    async def get(self, item_id: int) -> Item:
        """Read through the cache; the database stays the source of truth."""
        key = self._key(item_id)
        if (cached := await self._cache.get(key)) is not None:
            return Item(**ItemV2.model_validate_json(cached).model_dump())
        item = await self._repository.get(item_id)
        if item is None:
            raise NotFoundError(f"item {item_id} does not exist")
        await self._cache.set(key, ItemV2.model_validate(item).model_dump_json().encode())
        return item

    async def delete(self, item_id: int) -> None:
        """Delete and invalidate the cached copy."""
        item = await self._repository.get(item_id)
        if item is None:
            raise NotFoundError(f"item {item_id} does not exist")
        await self._repository.delete(item)
{%- if cookiecutter.messaging != "none" %}
        self._outbox.add(ItemDeleted(item_id=item_id))
{%- endif %}
        await self._cache.delete(self._key(item_id))

    async def page_by_offset(self, offset: int, limit: int) -> tuple[Sequence[Item], int]:
        """Items and total count for offset pagination (v1)."""
        return await self._repository.list_offset(offset, limit), await self._repository.count()

    async def page_by_cursor(
        self, cursor: str | None, limit: int
    ) -> tuple[Sequence[Item], str | None]:
        """Items after the cursor and the next cursor, or None on the last page (v2)."""
        after = decode_cursor(cursor) if cursor else 0
        items = await self._repository.list_after(after, limit + 1)
        if len(items) > limit:
            return items[:limit], encode_cursor(items[limit - 1].id)
        return items, None

    @staticmethod
    def _key(item_id: int) -> str:
        return f"items:v1:{item_id}"
