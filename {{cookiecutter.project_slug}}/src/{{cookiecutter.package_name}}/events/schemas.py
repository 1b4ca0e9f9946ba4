"""Event contracts: pydantic models, published as the service's AsyncAPI schema."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from {{ cookiecutter.package_name }}.db.base import utcnow

ITEM_CREATED = "{{ cookiecutter.project_slug }}.item.created"


class ItemCreated(BaseModel):
    """Emitted once per created item; consumers dedupe on `event_id`."""

    model_config = ConfigDict(frozen=True)

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    occurred_at: datetime = Field(default_factory=utcnow)
    item_id: int
    name: str
    price_cents: int
