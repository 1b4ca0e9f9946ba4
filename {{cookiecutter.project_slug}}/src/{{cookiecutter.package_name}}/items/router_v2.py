"""Items API v2: cursor pagination, integer-cent prices."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Depends, Query, Response, status
from fastapi.responses import JSONResponse

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
from {{ cookiecutter.package_name }}.api.responses import CREATED_HEADERS
from {{ cookiecutter.package_name }}.api.versions import Route
from {{ cookiecutter.package_name }}.idempotency.http import IdempotencyKeyDep, replayable, stored
from {{ cookiecutter.package_name }}.idempotency.keys import Outcome, StoredResponse
from {{ cookiecutter.package_name }}.items.cursor import MAX_LENGTH
from {{ cookiecutter.package_name }}.items.deps import ItemServiceDep
from {{ cookiecutter.package_name }}.items.list_params import listing_from_query
from {{ cookiecutter.package_name }}.items.listing import Listing
from {{ cookiecutter.package_name }}.items.models import ItemRecord
from {{ cookiecutter.package_name }}.items.schemas import ItemCreateV2, ItemPageV2, ItemPatchV2, ItemV2
from {{ cookiecutter.package_name }}.items.scopes import READ, WRITE

PATH = "/api/v2/items"
ITEM_PATH = "/api/v2/items/{item_id}"
TAG = "items v2"


async def list_items(
    service: ItemServiceDep,
    listing: Annotated[Listing, Depends(listing_from_query)],
    cursor: Annotated[str | None, Query(max_length=MAX_LENGTH)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ItemPageV2:
    """List items after an opaque cursor, filtered and sorted (see `sort`)."""
    items, next_cursor = await service.page_by_cursor(cursor, limit, listing)
    # One validation of the whole page, from the records' attributes, in pydantic's core;
    # FastAPI then serializes the instance it is given without validating it again.
    page = {"items": items, "next_cursor": next_cursor}
    return ItemPageV2.model_validate(page, from_attributes=True)


def created(item: ItemRecord) -> StoredResponse:
    """The 201 of a create, with the new item's `Location` and `ETag`; stored for replays."""
    location = ITEM_PATH.format(item_id=item.id)
    body = ItemV2.model_validate(item).model_dump(mode="json")
    headers = {"Location": location, ETAG: entity_tag(item.version)}
    return stored(JSONResponse(body, status.HTTP_201_CREATED, headers=headers))


async def create_item(
    body: ItemCreateV2, service: ItemServiceDep, keyed: IdempotencyKeyDep
) -> Response:
    """Create an item; 409 when the name is taken. With `Idempotency-Key`, at most once."""
    if keyed is None:
        item = await service.create(body.name, body.description, body.price_cents)
        return replayable(Outcome(created(item), replayed=False))
    once = keyed.with_body(body)
    return replayable(
        await service.create_once(body.name, body.description, body.price_cents, once, created)
    )


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
        response_model=ItemV2,
        headers={**CREATED_HEADERS, **ETAG_HEADERS},
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
