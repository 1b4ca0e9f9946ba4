"""Fixtures of the use-case tests: the item service over in-memory fakes, no database.

A plugin of conftest.py (`pytest_plugins`), so every use-case module shares one definition.
"""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }}.cache import Cache
from {{ cookiecutter.package_name }}.items.cursor import CursorCodec
from {{ cookiecutter.package_name }}.items.service import ItemService
from tests.fakes import FakeCache, FakeDatabase, FakeUnitsOfWork


@pytest.fixture
def units() -> FakeUnitsOfWork:
    return FakeUnitsOfWork()


@pytest.fixture
def database(units: FakeUnitsOfWork) -> FakeDatabase:
    return units.database


@pytest.fixture
def cache() -> FakeCache:
    return FakeCache()


def service_over(units: FakeUnitsOfWork, cache: Cache) -> ItemService:
    """The item use cases over these units and this cache."""
    return ItemService(units, cache, CursorCodec(b"test secret"))


@pytest.fixture
def service(units: FakeUnitsOfWork, cache: FakeCache) -> ItemService:
    return service_over(units, cache)
