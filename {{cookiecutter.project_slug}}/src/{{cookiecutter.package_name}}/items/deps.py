"""The items feature's request dependency: its use cases over this app's database and cache.

Transactions are not opened here but by the use case (its unit of work), so a request that
never reaches the database (a cache hit) never opens one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from {{ cookiecutter.package_name }}.api.deps import resources_of
from {{ cookiecutter.package_name }}.items.cursor import codec_for
from {{ cookiecutter.package_name }}.items.service import ItemService


async def get_item_service(request: Request) -> ItemService:
    """Item use cases over this app's database and cache."""
    resources = resources_of(request)
    cursors = codec_for(resources.settings.cursor_secret.get_secret_value())
    return ItemService(resources.sessions, resources.cache, cursors)


ItemServiceDep = Annotated[ItemService, Depends(get_item_service)]
