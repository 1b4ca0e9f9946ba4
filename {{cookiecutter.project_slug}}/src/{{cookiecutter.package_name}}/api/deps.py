"""Request-scoped dependencies as `Annotated` aliases; the session owns the transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, cast

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

{% if cookiecutter.messaging != "none" -%}
from {{ cookiecutter.package_name }}.events.outbox import Outbox
{% endif -%}
from {{ cookiecutter.package_name }}.items.repository import ItemRepository
from {{ cookiecutter.package_name }}.items.service import ItemService
from {{ cookiecutter.package_name }}.lifespan import Resources
from {{ cookiecutter.package_name }}.settings import Settings


async def get_resources(request: Request) -> Resources:
    """The process-wide resources the lifespan created.

    Dependencies are `async def` even without an await: FastAPI runs plain `def` ones in a
    thread pool, a thread hand-off per dependency per request.
    """
    return cast("Resources", request.state.resources)


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_settings(resources: ResourcesDep) -> Settings:
    """Settings of this app instance (tests pass their own)."""
    return resources.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


READ_ONLY_METHODS = frozenset({"GET", "HEAD"})


async def get_session(request: Request, resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request: commit before the response is sent, roll back on error.

    GET and HEAD read from the replica when one is configured (falling back to the primary);
    every other method, and so every write and any read after it, uses the primary.
    """
    if request.method in READ_ONLY_METHODS and resources.reader is not None:
        session = await resources.reader.session()
    else:
        session = resources.sessionmaker()
    async with session:
        try:
            yield session
            if session.in_transaction():  # a cache hit never touched it: nothing to commit
                await session.commit()
        except BaseException:
            await session.rollback()
            raise


# scope="function" runs the commit before the response goes out, so a failed commit is an
# error response rather than a success the database never saw.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_item_service(session: SessionDep, resources: ResourcesDep) -> ItemService:
    """Item use cases bound to this request's transaction."""
{%- if cookiecutter.messaging != "none" %}
    return ItemService(ItemRepository(session), resources.cache, Outbox(session))
{%- else %}
    return ItemService(ItemRepository(session), resources.cache)
{%- endif %}


ItemServiceDep = Annotated[ItemService, Depends(get_item_service)]
