"""Test support of the broker this service was generated for ({{ cookiecutter.messaging }})."""

from __future__ import annotations

from tests.brokers.{{ cookiecutter.messaging }} import (
    MARKS,
    REAL_BROKER_DEDUPES,
    UNREACHABLE,
    TestBroker,
    delete_names,
)

__all__ = ["MARKS", "REAL_BROKER_DEDUPES", "UNREACHABLE", "TestBroker", "delete_names"]
