"""SQL for items; the only module that builds queries against the items table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    delete,
    func,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from {{ cookiecutter.package_name }}.clock import utcnow
from {{ cookiecutter.package_name }}.db.collation import code_points
from {{ cookiecutter.package_name }}.errors import ConflictError
from {{ cookiecutter.package_name }}.items.listing import LAST_CODE_POINT, ItemFilter, Listing, Position
from {{ cookiecutter.package_name }}.items.models import MAX_ID, MIN_ID, Item, ItemChanges


class ItemRepository:
    """Data access bound to one session (one unit of work)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, item_id: int) -> Item | None:
        """Load one item by primary key; None for an id no BIGINT can hold.

        Found by fuzzing: the driver fails on such an id instead of answering "not found".
        """
        if not MIN_ID <= item_id <= MAX_ID:
            return None
        return await self._session.get(Item, item_id)

    async def add(self, item: Item) -> Item:
        """Insert and flush, so the id is known and unique violations surface here."""
        self._session.add(item)
        try:
            await self._session.flush()
        except IntegrityError as exc:
            raise ConflictError(f"an item named {item.name!r} already exists") from exc
        return item

    async def delete(self, item_id: int, versions: frozenset[int] | None = None) -> bool:
        """Delete by id in one statement; True only for the transaction whose DELETE removed it.

        Load-then-delete let parallel requests all see the row and all succeed; here the
        database's row lock decides, so one caller wins and the others match no row. With
        `versions`, only an item at one of them is deleted.
        """
        if not MIN_ID <= item_id <= MAX_ID:
            return False
        statement = delete(Item).where(Item.id == item_id).returning(Item.id)
        if versions is not None:
            statement = statement.where(Item.version.in_(versions))
        deleted = await self._session.execute(
            statement, execution_options={"synchronize_session": False}
        )
        return deleted.scalar_one_or_none() is not None

    async def update(
        self, item_id: int, changes: ItemChanges, versions: frozenset[int] | None
    ) -> Item | None:
        """Change the item and raise its version in one statement, if at one of `versions`.

        `versions` None: at any version. The updated item, or None when no row matched. Of
        parallel updates from one version, the row lock lets one write; the others wait, and
        PostgreSQL (READ COMMITTED) re-checks their WHERE on the new row: no match.
        """
        if not MIN_ID <= item_id <= MAX_ID:
            return None
        statement = (
            update(Item)
            .where(Item.id == item_id)
            .values(**changes, version=Item.version + 1, updated_at=utcnow())
            .returning(Item)
        )
        if versions is not None:
            statement = statement.where(Item.version.in_(versions))
        try:
            updated = await self._session.execute(
                statement, execution_options={"synchronize_session": False}
            )
        except IntegrityError as exc:
            raise ConflictError(f"an item named {changes.get('name')!r} already exists") from exc
        return updated.scalar_one_or_none()

    async def count(self) -> int:
        """Total number of items, for offset pagination."""
        return int(await self._session.scalar(select(func.count()).select_from(Item)) or 0)

    async def list_offset(self, offset: int, limit: int) -> Sequence[Item]:
        """One page by offset, ordered by id."""
        query = select(Item).order_by(Item.id).offset(offset).limit(limit)
        return (await self._session.scalars(query)).all()

    async def list_page(
        self, listing: Listing, after: Position | None, limit: int
    ) -> Sequence[Item]:
        """Keyset page in one of the sorts (items.listing), each served by its own index."""
        query = filtered(select(Item), listing.filters)
        by_id = listing.sort.field == "id"
        pair = tuple_(Item.id) if by_id else tuple_(sort_column(listing.sort.field), Item.id)
        if after is not None:
            bound = tuple_(literal(after.id))
            if not by_id:
                bound = tuple_(sort_value(after), literal(after.id))
            query = query.where(pair < bound if listing.sort.descending else pair > bound)
        order = [column.desc() if listing.sort.descending else column for column in pair.clauses]
        return (await self._session.scalars(query.order_by(*order).limit(limit))).all()


def name_key(name: SQLColumnExpression[str]) -> ColumnElement[str]:
    """lower(name) in code point order: the expression ix_items_name_key indexes."""
    return code_points(func.lower(name))


def sort_column(field: str) -> SQLColumnExpression[Any]:
    """The expression a sort field orders by."""
    if field == "name":
        return name_key(Item.name)
    column: SQLColumnExpression[Any] = getattr(Item, field)
    return column


def sort_value(after: Position) -> ColumnElement[Any]:
    """The position's key as SQL of the sort column's type (a name lower-cased by the database)."""
    if after.sort.field == "name":
        return name_key(literal(after.key, Item.name.type))
    return literal(after.key, getattr(Item, after.sort.field).type)


def filtered(query: Select[Item], filters: ItemFilter) -> Select[Item]:
    """The filters as index-usable conditions: the name prefix is a range of `name_key`."""
    if filters.name_prefix is not None:
        prefix = func.lower(literal(filters.name_prefix, Item.name.type))
        query = query.where(
            name_key(Item.name) >= code_points(prefix),
            name_key(Item.name) < code_points(prefix + LAST_CODE_POINT),
        )
    if filters.price_min is not None:
        query = query.where(Item.price_cents >= filters.price_min)
    if filters.price_max is not None:
        query = query.where(Item.price_cents <= filters.price_max)
    return query
