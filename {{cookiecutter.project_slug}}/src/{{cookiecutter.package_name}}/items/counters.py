"""The item-stats consumer's table of counters (`items/consumer.py`); with messaging on only."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from {{ cookiecutter.package_name }}.db.base import Base


class ItemStat(Base):
    """The example consumer's effect: counters that a duplicate delivery would inflate."""

    __tablename__ = "item_stats"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
