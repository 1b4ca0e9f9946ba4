"""Items API v2: cursor pagination, integer-cent prices."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Response, status
from fastapi.responses import JSONResponse

from {{ cookiecutter.package_name }}.api.versions import Route
from {{ cookiecutter.package_name }}.idempotency.http import IdempotencyKeyDep, replayable, stored
from {{ cookiecutter.package_name }}.idempotency.keys import Outcome, StoredResponse
from {{ cookiecutter.package_name }}.items.cursor import MAX_LENGTH
from {{ cookiecutter.package_name }}.items.deps import ItemServiceDep
from {{ cookiecutter.package_name }}.items.list_params import listing_from_query
from {{ cookiecutter.package_name }}.items.listing import Listing
from {{ cookiecutter.package_name }}.items.models import ItemRecord
from {{ cookiecutter.package_name }}.items.schemas import ItemCreateV2, ItemPageV2, ItemV2
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
    return ItemPageV2(items=[ItemV2.model_validate(i) for i in items], next_cursor=next_cursor)


def created(item: ItemRecord) -> StoredResponse:
    """The 201 of a create, with the new item's `Location`; stored for replays when keyed."""
    location = ITEM_PATH.format(item_id=item.id)
    body = ItemV2.model_validate(item).model_dump(mode="json")
    return stored(JSONResponse(body, status.HTTP_201_CREATED, headers={"Location": location}))


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


async def get_item(item_id: int, service: ItemServiceDep) -> ItemV2:
    """Read one item (served from the cache when warm)."""
    return ItemV2.model_validate(await service.get(item_id))


async def delete_item(item_id: int, service: ItemServiceDep) -> None:
    """Delete one item."""
    await service.delete(item_id)


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
        headers=("Location", "Idempotent-Replayed"),
    ),
    Route(ITEM_PATH, "GET", READ, get_item, status.HTTP_200_OK, errors=(404,)),
    Route(ITEM_PATH, "DELETE", WRITE, delete_item, status.HTTP_204_NO_CONTENT, errors=(404,)),
]
