"""Items API v2: cursor pagination, integer-cent prices."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Query, Response, status

from {{ cookiecutter.package_name }}.api.conditional import (
    ETAG,
    ETAG_HEADERS,
    NOT_MODIFIED,
    IfMatch,
    IfMatchRequired,
    IfNoneMatch,
    current_etag,
    entity_tag,
)
from {{ cookiecutter.package_name }}.api.limits import MERGE_PATCH
from {{ cookiecutter.package_name }}.api.versions import Route
from {{ cookiecutter.package_name }}.items.deps import ItemServiceDep
from {{ cookiecutter.package_name }}.items.schemas import ItemCreateV2, ItemPageV2, ItemPatchV2, ItemV2
from {{ cookiecutter.package_name }}.items.scopes import READ, WRITE

PATH = "/api/v2/items"
ITEM_PATH = "/api/v2/items/{item_id}"
TAG = "items v2"


async def list_items(
    service: ItemServiceDep,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ItemPageV2:
    """List items after an opaque cursor."""
    items, next_cursor = await service.page_by_cursor(cursor, limit)
    return ItemPageV2(items=[ItemV2.model_validate(i) for i in items], next_cursor=next_cursor)


async def create_item(body: ItemCreateV2, service: ItemServiceDep, response: Response) -> ItemV2:
    """Create an item; 409 when the name is taken."""
    item = await service.create(body.name, body.description, body.price_cents)
    response.headers[ETAG] = entity_tag(item.version)
    return ItemV2.model_validate(item)


async def get_item(
    item_id: int, service: ItemServiceDep, response: Response, if_none_match: IfNoneMatch
) -> ItemV2:
    """Read one item (served from the cache when warm); 304 if `If-None-Match` names it."""
    item = await service.get(item_id)
    response.headers[ETAG] = current_etag(item.version, if_none_match)
    return ItemV2.model_validate(item)


async def update_item(
    item_id: int,
    patch: Annotated[ItemPatchV2, Body(media_type=MERGE_PATCH)],
    versions: IfMatchRequired,
    service: ItemServiceDep,
    response: Response,
) -> ItemV2:
    """Change an item (JSON Merge Patch) if it is still at the version `If-Match` names.

    412 when it is not: another change came first, so read it again and retry. 409 when the
    new name is taken.
    """
    item = await service.update(item_id, patch.changes(), versions)
    response.headers[ETAG] = entity_tag(item.version)
    return ItemV2.model_validate(item)


async def delete_item(item_id: int, service: ItemServiceDep, versions: IfMatch) -> None:
    """Delete one item (only at the version `If-Match` names, if sent)."""
    await service.delete(item_id, versions)


ROUTES = [
    Route(PATH, "GET", READ, list_items, status.HTTP_200_OK, errors=(400,)),
    Route(
        PATH,
        "POST",
        WRITE,
        create_item,
        status.HTTP_201_CREATED,
        errors=(400, 409, 415),
        headers=ETAG_HEADERS,
    ),
    Route(
        ITEM_PATH,
        "GET",
        READ,
        get_item,
        status.HTTP_200_OK,
        errors=(404,),
        headers=ETAG_HEADERS,
        others=NOT_MODIFIED,
    ),
    Route(
        ITEM_PATH,
        "PATCH",
        WRITE,
        update_item,
        status.HTTP_200_OK,
        errors=(400, 404, 409, 412, 415, 428),
        headers=ETAG_HEADERS,
    ),
    Route(ITEM_PATH, "DELETE", WRITE, delete_item, status.HTTP_204_NO_CONTENT, errors=(404, 412)),
]
