"""The domain events of items, staged in the unit of work's outbox (messaging is on)."""

from __future__ import annotations

from {{ cookiecutter.package_name }}.events.schemas import ItemCreated, ItemDeleted
from {{ cookiecutter.package_name }}.items.models import Item
from {{ cookiecutter.package_name }}.items.unit_of_work import UnitOfWork


def record_created(unit: UnitOfWork, item: Item) -> None:
    """Same transaction as the insert: the event exists if and only if the item does."""
    unit.outbox.add(ItemCreated(item_id=item.id, name=item.name, price_cents=item.price_cents))


def record_deleted(unit: UnitOfWork, item_id: int) -> None:
    """Same transaction as the delete, which only one of parallel deletes wins."""
    unit.outbox.add(ItemDeleted(item_id=item_id))
