"""P: the routes a developer would write with FastAPI and SQLAlchemy alone, nothing else.

Same libraries, pool size and behaviour as the service, none of its layers or instrumentation,
so the service/P ratio is the price of everything the template adds. Set by BENCH_* variables.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated

from fastapi import FastAPI, HTTPException, Query, status
from sqlalchemy import DateTime, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bench import {{ cookiecutter.cache }}_cache as cache
from bench.wire import Health, ItemIn, ItemOut, ItemPage, ItemPatch


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


DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "sqlite+aiosqlite:///./bench.db")
POOL = {  # the service's pool (`make bench` passes its defaults)
    "pool_size": int(os.environ.get("BENCH_POOL_SIZE", "4")),
    "max_overflow": int(os.environ.get("BENCH_MAX_OVERFLOW", "0")),
}
engine = create_async_engine(DATABASE_URL, **({} if DATABASE_URL.startswith("sqlite") else POOL))
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


@app.get("/api/v2/items")
async def list_items(limit: Annotated[int, Query(ge=1, le=100)] = 20) -> ItemPage:
    """The first page in id order, one row more than asked to know whether another follows."""
    async with sessions() as session:
        rows = (await session.scalars(select(Item).order_by(Item.id).limit(limit + 1))).all()
    items = [ItemOut.model_validate(row) for row in rows[:limit]]
    return ItemPage(items=items, next_cursor=str(items[-1].id) if len(rows) > limit else None)


@app.post("/api/v2/items", status_code=status.HTTP_201_CREATED)
async def create_item(body: ItemIn) -> ItemOut:
    """Add and commit in one session: no uniqueness check beyond the database's, no event."""
    now = datetime.now(UTC)
    item = Item(**body.model_dump(), created_at=now, updated_at=now)
    async with sessions.begin() as session:
        session.add(item)
    return ItemOut.model_validate(item)


@app.patch("/api/v2/items/{item_id}")
async def patch_item(item_id: int, patch: ItemPatch) -> ItemOut:
    """Load, change, commit, drop the cached copy: no precondition, no event."""
    async with sessions.begin() as session:
        item = await session.get(Item, item_id)
        if item is None:
            raise HTTPException(404)
        for name, value in patch.model_dump(exclude_unset=True).items():
            setattr(item, name, value)
        item.updated_at = datetime.now(UTC)
    await cache.forget(f"bench-p:items:{item_id}")
    return ItemOut.model_validate(item)
