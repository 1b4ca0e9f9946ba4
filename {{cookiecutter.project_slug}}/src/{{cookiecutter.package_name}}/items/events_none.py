"""Items publish no domain events: the service was generated with messaging=none."""

from __future__ import annotations

from typing import Protocol

from {{ cookiecutter.package_name }}.items.models import ItemChanges, ItemRecord


class EventStaging(Protocol):
    """What a writing unit of work adds for events: nothing, it has no outbox."""


def record_created(_unit: EventStaging, _item: ItemRecord) -> None:
    """No event to stage."""


def record_deleted(_unit: EventStaging, _item_id: int) -> None:
    """No event to stage."""


def record_updated(_unit: EventStaging, _item: ItemRecord, _changes: ItemChanges) -> None:
    """No event to stage."""
