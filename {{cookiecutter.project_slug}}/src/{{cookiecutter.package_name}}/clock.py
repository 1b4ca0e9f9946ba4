"""The service's clock: one definition of "now", shared by the database models and the events.

A module of its own so that event contracts need not import the ORM to timestamp themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Timestamps are always timezone-aware UTC."""
    return datetime.now(UTC)
