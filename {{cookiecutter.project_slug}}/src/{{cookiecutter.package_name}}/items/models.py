"""Persistence model of an item."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from {{ cookiecutter.package_name }}.db.base import Base, TimestampMixin


class Item(TimestampMixin, Base):
    """A sellable item; prices are integer cents so money never goes through floats."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    price_cents: Mapped[int]
