"""The domain events of items, staged in the unit of work's outbox (messaging is on)."""

from __future__ import annotations

from typing import Protocol

from {{ cookiecutter.package_name }}.events.outbox import EventOutbox
from {{ cookiecutter.package_name }}.events.schemas import ItemCreated, ItemDeleted
from {{ cookiecutter.package_name }}.items.models import Item


class EventStaging(Protocol):
    """What a writing unit of work (`items.unit_of_work.UnitOfWork`) adds for events."""

    @property
    def outbox(self) -> EventOutbox:
        """Events staged here are stored if and only if the unit commits."""
        ...


def record_created(unit: EventStaging, item: Item) -> None:
    """Same transaction as the insert: the event exists if and only if the item does."""
    unit.outbox.add(ItemCreated(item_id=item.id, name=item.name, price_cents=item.price_cents))


def record_deleted(unit: EventStaging, item_id: int) -> None:
    """Same transaction as the delete, which only one of parallel deletes wins."""
    unit.outbox.add(ItemDeleted(item_id=item_id))
