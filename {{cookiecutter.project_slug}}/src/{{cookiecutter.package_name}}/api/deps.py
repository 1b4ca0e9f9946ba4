"""Request-scoped dependencies as `Annotated` aliases.

Each is one `async def` reading `request.state`: FastAPI runs plain `def` dependencies in a
thread pool, and every nested or generator dependency adds its own resolution step to every
request. Transactions are not opened here but by the use case (`db.engine.Sessions`), so a
request that never reaches the database (a cache hit) never opens one.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from {{ cookiecutter.package_name }}.items.cursor import codec_for
from {{ cookiecutter.package_name }}.items.service import ItemService
from {{ cookiecutter.package_name }}.lifespan import Resources


async def get_resources(request: Request) -> Resources:
    """The process-wide resources the lifespan created."""
    return cast("Resources", request.state.resources)


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_item_service(request: Request) -> ItemService:
    """Item use cases over this app's database and cache."""
    resources = cast("Resources", request.state.resources)
    cursors = codec_for(resources.settings.cursor_secret.get_secret_value())
    return ItemService(resources.sessions, resources.cache, cursors)


ItemServiceDep = Annotated[ItemService, Depends(get_item_service)]
