"""P: the routes a developer would write with FastAPI and SQLAlchemy alone, nothing else.

Same libraries, pool size and behaviour as the service, none of its layers or instrumentation,
so the service/P ratio is the price of everything the template adds. Set by BENCH_* variables.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Literal

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict
from sqlalchemy import DateTime
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bench import {{ cookiecutter.cache }}_cache as cache


class Base(DeclarativeBase):
    """Own metadata: nothing is imported from the service."""


class Item(Base):
    """The service's items table, mapped by hand."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    description: Mapped[str | None]
    price_cents: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ItemOut(BaseModel):
    """The v2 representation, restated: P imports nothing from the service, whose cost it is."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    price_cents: int
    created_at: datetime
    updated_at: datetime


class Health(BaseModel):
    """What `/livez` answers."""

    status: Literal["ok"]
    checks: dict[str, str] = {}


DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "sqlite+aiosqlite:///./bench.db")
engine = create_async_engine(
    DATABASE_URL,
    **({} if DATABASE_URL.startswith("sqlite") else {"pool_size": 5, "max_overflow": 5}),
)
sessions = async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """Close the pool and the cache client, if any, at shutdown."""
    yield
    await cache.close()
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.get("/livez")
async def livez() -> Health:
    """Same body as the service's liveness probe."""
    return Health(status="ok")


@app.get("/api/v2/items/{item_id}")
async def get_item(item_id: int) -> ItemOut:
    """Cache-aside read, as the service does it (with cache=none: a primary-key read)."""
    key = f"bench-p:items:{item_id}"
    if (cached := await cache.get(key)) is not None:
        return ItemOut.model_validate_json(cached)
    async with sessions() as session:
        item = await session.get(Item, item_id)
    if item is None:
        raise HTTPException(404)
    out = ItemOut.model_validate(item)
    await cache.put(key, out.model_dump_json())
    return out
