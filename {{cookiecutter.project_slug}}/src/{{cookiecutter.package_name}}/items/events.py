"""The domain events of items, and how a use case stages them in its unit of work's outbox.

Only generated with messaging on (items/events_none.py otherwise); defining the classes
registers their types with the event machinery (`events.schemas.EVENT_TYPES`).
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from {{ cookiecutter.package_name }}.events.outbox import EventOutbox
from {{ cookiecutter.package_name }}.events.schemas import Event
from {{ cookiecutter.package_name }}.items.models import ItemChanges, ItemRecord


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


class ItemUpdated(Event):
    """Emitted once per update that applied (one of parallel updates from one version).

    `changes` is the merge patch that applied, as stored: each field it set, with its new
    value; a description set to null was removed. `version` orders a consumer's updates.
    """

    event_type: ClassVar[str] = "item.updated"

    item_id: int
    version: int
    changes: ItemChanges


class EventStaging(Protocol):
    """What a writing unit of work (`items.unit_of_work.UnitOfWork`) adds for events."""

    @property
    def outbox(self) -> EventOutbox:
        """Events staged here are stored if and only if the unit commits."""
        ...


def record_created(unit: EventStaging, item: ItemRecord) -> None:
    """Same transaction as the insert: the event exists if and only if the item does."""
    unit.outbox.add(ItemCreated(item_id=item.id, name=item.name, price_cents=item.price_cents))


def record_deleted(unit: EventStaging, item_id: int) -> None:
    """Same transaction as the delete, which only one of parallel deletes wins."""
    unit.outbox.add(ItemDeleted(item_id=item_id))


def record_updated(unit: EventStaging, item: ItemRecord, changes: ItemChanges) -> None:
    """Same transaction as the update, and staged only by the one that matched its version."""
    unit.outbox.add(ItemUpdated(item_id=item.id, version=item.version, changes=changes))
