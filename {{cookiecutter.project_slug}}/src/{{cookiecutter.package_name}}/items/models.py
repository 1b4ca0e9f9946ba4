"""An item as stored (the ORM row) and as use cases hand it out (a detached record)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from sqlalchemy import BigInteger, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from {{ cookiecutter.package_name }}.db.base import Base, TimestampMixin

MIN_ID, MAX_ID = 1, 2**63 - 1  # the id column is a BIGINT


class Item(TimestampMixin, Base):
    """A sellable item; prices are integer cents so money never goes through floats."""

    __tablename__ = "items"
    # Names are unique regardless of case ("Cup" and "cup" would be indistinguishable in a
    # list); lower() folds ASCII on SQLite and, on PostgreSQL, every letter its collation knows.
    __table_args__ = (
        Index("uq_items_name_lower", func.lower("name"), unique=True),
        # One per v2 sort (items.listing), each ending in the id that breaks ties (migration
        # 0006); names by lower(name) in code point order, which also serves a prefix range.
        # The collation is given as the expression's "operator class" (rendered after it):
        # PostgreSQL's reflection omits index collations, so as part of the expression it
        # would read as drift; tests/test_indexes.py checks it is there.
        Index(
            "ix_items_name_key",
            func.lower(text("name")).label("name_key"),
            "id",
            postgresql_ops={"name_key": 'COLLATE "C"'},
        ),
        Index("ix_items_price_cents_id", "price_cents", "id"),
        Index("ix_items_created_at_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    price_cents: Mapped[int]
    # Raised by every update (items.repository.ItemRepository.update): the item's strong ETag,
    # and what a conditional update compares, in the same statement that writes.
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """What the service returns: bound to no session, so it outlives its transaction.

    A plain dataclass: a row becomes one without validation (the database's types are the
    record's), so the only validation on the way out is the response model's. It is also the
    cached form (JSON, `items.service.RECORDS`), so a cache hit never builds an ORM object.
    """

    id: int
    name: str
    description: str | None
    price_cents: int
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, item: Item) -> ItemRecord:
        """The record of an ORM row the unit of work wrote (a create)."""
        return cls(
            id=item.id,
            name=item.name,
            description=item.description,
            price_cents=item.price_cents,
            created_at=item.created_at,
            updated_at=item.updated_at,
            version=item.version,
        )


class ItemChanges(TypedDict, total=False):
    """What an update sets (a merge patch, validated): members left out stay as they are."""

    name: str
    description: str | None
    price_cents: int
