"""The transactional outbox: events are rows written in the transaction of the change.

The use case's unit of work (`Sessions.write`) commits the change and its events together or
not at all, so no event is lost when the broker is down and none is published for a change that
rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from {{ cookiecutter.package_name }}.events.models import DEAD, PENDING, OutboxEvent
from {{ cookiecutter.package_name }}.events.schemas import Event


class EventOutbox(Protocol):
    """The outbox as use cases see it (`items.unit_of_work`): fakes stand in for it in tests."""

    def add(self, event: Event) -> None:
        """Stage one event in the current unit of work."""
        ...


class Outbox:
    """Adds events to the current unit of work; the caller's transaction commits them."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, event: Event) -> None:
        """Stage one event; it is written by the next flush or commit of the session."""
        self._session.add(
            OutboxEvent(
                event_id=str(event.event_id),
                event_type=event.event_type,
                payload=event.model_dump_json(),
                available_at=event.occurred_at,
                created_at=event.occurred_at,
            )
        )


class OutboxRepository:
    """The relay's queries; the only module that reads the outbox table."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim_pending(self, now: datetime, limit: int) -> Sequence[OutboxEvent]:
        """Due pending rows in id order, locked so concurrent relays skip them (PostgreSQL)."""
        query = (
            select(OutboxEvent)
            .where(OutboxEvent.status == PENDING, OutboxEvent.available_at <= now)
            .order_by(OutboxEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self._session.scalars(query)).all()

    async def count_by_status(self) -> dict[str, int]:
        """Rows per status, for tests and operators."""
        query = select(OutboxEvent.status, func.count()).group_by(OutboxEvent.status)
        return {status: int(n) for status, n in (await self._session.execute(query)).all()}

    async def backlog(self) -> tuple[dict[str, int], datetime | None]:
        """Pending and dead counts and the oldest pending event's time, for the metrics.

        Both queries walk the (status, id) index over pending and dead rows only, so their
        cost does not grow with the sent history.
        """
        counts = (
            select(OutboxEvent.status, func.count())
            .where(OutboxEvent.status.in_((PENDING, DEAD)))
            .group_by(OutboxEvent.status)
        )
        found = {status: int(n) for status, n in (await self._session.execute(counts)).all()}
        oldest = (
            select(OutboxEvent.created_at)
            .where(OutboxEvent.status == PENDING)
            .order_by(OutboxEvent.id)
            .limit(1)
        )
        return {PENDING: 0, DEAD: 0, **found}, await self._session.scalar(oldest)
