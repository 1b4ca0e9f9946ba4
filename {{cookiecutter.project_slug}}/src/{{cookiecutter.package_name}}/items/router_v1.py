"""Items API v1 (deprecated): offset pagination, decimal prices."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import Query, Response, status
from fastapi.responses import JSONResponse

from {{ cookiecutter.package_name }}.api.conditional import (
    ETAG,
    ETAG_HEADERS,
    NOT_MODIFIED,
    IfMatch,
    IfNoneMatch,
    current_etag,
    entity_tag,
)
from {{ cookiecutter.package_name }}.api.responses import CREATED_HEADERS
from {{ cookiecutter.package_name }}.api.versions import Route
from {{ cookiecutter.package_name }}.idempotency.http import IdempotencyKeyDep, replayable, stored
from {{ cookiecutter.package_name }}.idempotency.keys import Outcome, StoredResponse
from {{ cookiecutter.package_name }}.items.deps import ItemServiceDep
from {{ cookiecutter.package_name }}.items.models import ItemRecord
from {{ cookiecutter.package_name }}.items.schemas import ItemCreateV1, ItemPageV1, ItemV1
from {{ cookiecutter.package_name }}.items.scopes import READ, WRITE

PATH = "/api/v1/items"
ITEM_PATH = "/api/v1/items/{item_id}"
TAG = "items v1"
CENTS = Decimal(100)
TWO_PLACES = Decimal("0.01")


def to_v1(item: ItemRecord) -> ItemV1:
    """Map the stored cents to the v1 decimal price."""
    return ItemV1(
        id=item.id,
        name=item.name,
        description=item.description,
        price=(Decimal(item.price_cents) / CENTS).quantize(TWO_PLACES),
    )


async def list_items(
    service: ItemServiceDep,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ItemPageV1:
    """List items by offset."""
    items, total = await service.page_by_offset(offset, limit)
    return ItemPageV1(items=[to_v1(i) for i in items], total=total, offset=offset, limit=limit)


def created(item: ItemRecord) -> StoredResponse:
    """The 201 of a create, with the new item's `Location` and `ETag`; stored for replays."""
    location = ITEM_PATH.format(item_id=item.id)
    body = to_v1(item).model_dump(mode="json")
    headers = {"Location": location, ETAG: entity_tag(item.version)}
    return stored(JSONResponse(body, status.HTTP_201_CREATED, headers=headers))


async def create_item(
    body: ItemCreateV1, service: ItemServiceDep, keyed: IdempotencyKeyDep
) -> Response:
    """Create an item; 409 when the name is taken. With `Idempotency-Key`, at most once."""
    price_cents = body.price_in_cents()
    if keyed is None:
        item = await service.create(body.name, body.description, price_cents)
        return replayable(Outcome(created(item), replayed=False))
    once = keyed.with_body(body)
    return replayable(
        await service.create_once(body.name, body.description, price_cents, once, created)
    )


async def get_item(
    item_id: int, service: ItemServiceDep, response: Response, if_none_match: IfNoneMatch
) -> ItemV1:
    """Read one item; 304 if `If-None-Match` names its version."""
    item = await service.get(item_id)
    response.headers[ETAG] = current_etag(item.version, if_none_match)
    return to_v1(item)


async def delete_item(item_id: int, service: ItemServiceDep, versions: IfMatch) -> None:
    """Delete one item (only at the version `If-Match` names, if sent)."""
    await service.delete(item_id, versions)


# v1 is frozen: what it gains is optional (headers a client may ignore or not send), and
# changing an item is v2's alone (PATCH).
ROUTES = [
    Route(PATH, "GET", READ, list_items, status.HTTP_200_OK),
    Route(
        PATH,
        "POST",
        WRITE,
        create_item,
        status.HTTP_201_CREATED,
        errors=(400, 409, 415),
        response_model=ItemV1,
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
    Route(ITEM_PATH, "DELETE", WRITE, delete_item, status.HTTP_204_NO_CONTENT, errors=(404, 412)),
]
