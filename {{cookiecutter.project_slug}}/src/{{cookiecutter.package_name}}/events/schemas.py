"""Event contracts: pydantic models, published as the service's AsyncAPI schema.

Contracts only grow: add optional fields, never rename or remove one; a breaking change is a
new event type. Consumers dedupe on `event_id`, because delivery is at least once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from {{ cookiecutter.package_name }}.db.base import utcnow


class Event(BaseModel):
    """Fields every event carries; `event_type` names its topic (after the prefix)."""

    model_config = ConfigDict(frozen=True)
    event_type: ClassVar[str]

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    occurred_at: datetime = Field(default_factory=utcnow)


class ItemCreated(Event):
    """Emitted once per created item, in the transaction that created it."""

    event_type: ClassVar[str] = "item.created"

    item_id: int
    name: str
    price_cents: int


class ItemDeleted(Event):
    """Emitted once per deleted item, in the transaction that deleted it."""

    event_type: ClassVar[str] = "item.deleted"

    item_id: int


EVENT_TYPES: dict[str, type[Event]] = {e.event_type: e for e in (ItemCreated, ItemDeleted)}
