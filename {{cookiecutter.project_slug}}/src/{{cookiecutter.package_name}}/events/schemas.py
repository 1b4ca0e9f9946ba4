"""Event contracts: pydantic models, published as the service's AsyncAPI schema.

Contracts only grow: add optional fields, never rename or remove one; a breaking change is a
new event type. Consumers dedupe on `event_id`, because delivery is at least once.

Each feature declares its own events next to its rules (`items/events.py`); this package stays
generic and never imports a feature. `EVENT_TYPES` learns an event type when its class is
defined, as `Base.metadata` learns a table: the worker imports every feature's events before
it builds the bus and the relay, which read the registry.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from {{ cookiecutter.package_name }}.clock import utcnow

EVENT_TYPES: dict[str, type[Event]] = {}


class Event(BaseModel):
    """Fields every event carries; `event_type` names its topic (after the prefix)."""

    model_config = ConfigDict(frozen=True)
    event_type: ClassVar[str]

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    occurred_at: datetime = Field(default_factory=utcnow)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:  # noqa: ANN401 - pydantic's hook
        """Register the event type; two classes claiming one type is a programming error."""
        super().__pydantic_init_subclass__(**kwargs)
        known = EVENT_TYPES.setdefault(cls.event_type, cls)
        if known is not cls:
            msg = f"event type {cls.event_type!r} is declared twice: {known} and {cls}"
            raise TypeError(msg)
