"""L: the same routes on a raw asyncpg pool: the driver's limit, what no layer can beat.

No ORM, no SQLAlchemy: one hand-written statement per route, rows straight into the wire
model. PostgreSQL only (BENCH_DATABASE_URL); the cache is P's (`bench.*_cache`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import asyncpg
from fastapi import FastAPI, HTTPException, Query, Request, status

from bench import {{ cookiecutter.cache }}_cache as cache
from bench.wire import Health, ItemIn, ItemOut, ItemPage, ItemPatch

COLUMNS = "id, name, description, price_cents, created_at, updated_at"
# The service's pool_size + max_overflow (`make bench` passes its defaults), all kept open.
POOL_SIZE = int(os.environ.get("BENCH_POOL_SIZE", "4")) + int(
    os.environ.get("BENCH_MAX_OVERFLOW", "0")
)
PATCHABLE = ("name", "description", "price_cents")


def dsn() -> str:
    """BENCH_DATABASE_URL without SQLAlchemy's driver suffix."""
    url = os.environ.get("BENCH_DATABASE_URL", "")
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """One pool for the process, closed at shutdown with the cache client."""
    async with asyncpg.create_pool(dsn(), min_size=POOL_SIZE, max_size=POOL_SIZE) as pool:
        app.state.pool = pool
        yield
    await cache.close()


app = FastAPI(lifespan=lifespan)


def pool_of(request: Request) -> asyncpg.Pool:
    """The process's pool."""
    pool: asyncpg.Pool = request.app.state.pool
    return pool


@app.get("/livez")
async def livez() -> Health:
    """Same body as the service's liveness probe."""
    return Health(status="ok")


@app.get("/api/v2/items/{item_id}")
async def get_item(item_id: int, request: Request) -> ItemOut:
    """Cache-aside read by primary key."""
    key = f"bench-l:items:{item_id}"
    if (cached := await cache.get(key)) is not None:
        return ItemOut.model_validate_json(cached)
    row = await pool_of(request).fetchrow(f"SELECT {COLUMNS} FROM items WHERE id = $1", item_id)  # noqa: S608 - constant columns
    if row is None:
        raise HTTPException(404)
    out = ItemOut.model_validate(dict(row))
    await cache.put(key, out.model_dump_json())
    return out


@app.get("/api/v2/items")
async def list_items(request: Request, limit: Annotated[int, Query(ge=1, le=100)] = 20) -> ItemPage:
    """The first page in id order, one row more than asked to know whether another follows."""
    rows = await pool_of(request).fetch(
        f"SELECT {COLUMNS} FROM items ORDER BY id LIMIT $1",  # noqa: S608 - constant columns
        limit + 1,
    )
    items = [ItemOut.model_validate(dict(row)) for row in rows[:limit]]
    return ItemPage(items=items, next_cursor=str(items[-1].id) if len(rows) > limit else None)


@app.post("/api/v2/items", status_code=status.HTTP_201_CREATED)
async def create_item(body: ItemIn, request: Request) -> ItemOut:
    """One INSERT ... RETURNING."""
    row = await pool_of(request).fetchrow(
        f"INSERT INTO items (name, description, price_cents) VALUES ($1, $2, $3) "  # noqa: S608
        f"RETURNING {COLUMNS}",
        body.name,
        body.description,
        body.price_cents,
    )
    return ItemOut.model_validate(dict(row))


@app.patch("/api/v2/items/{item_id}")
async def patch_item(item_id: int, patch: ItemPatch, request: Request) -> ItemOut:
    """One UPDATE ... RETURNING, then drop the cached copy."""
    changes = patch.model_dump(exclude_unset=True)
    names = [name for name in PATCHABLE if name in changes]
    sets = ", ".join(f"{name} = ${index}" for index, name in enumerate(names, start=2))
    row = await pool_of(request).fetchrow(
        f"UPDATE items SET {sets}{', ' if sets else ''}updated_at = now() "  # noqa: S608
        f"WHERE id = $1 RETURNING {COLUMNS}",
        item_id,
        *(changes[name] for name in names),
    )
    if row is None:
        raise HTTPException(404)
    await cache.forget(f"bench-l:items:{item_id}")
    return ItemOut.model_validate(dict(row))
