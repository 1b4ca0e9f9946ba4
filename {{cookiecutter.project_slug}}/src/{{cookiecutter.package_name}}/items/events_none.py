"""Items publish no domain events: the service was generated with messaging=none."""

from __future__ import annotations

from {{ cookiecutter.package_name }}.items.models import Item
from {{ cookiecutter.package_name }}.items.unit_of_work import UnitOfWork


def record_created(_unit: UnitOfWork, _item: Item) -> None:
    """No event to stage."""


def record_deleted(_unit: UnitOfWork, _item_id: int) -> None:
    """No event to stage."""
