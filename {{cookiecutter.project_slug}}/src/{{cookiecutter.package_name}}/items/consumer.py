"""The example consumer: counts created items, exactly once per event despite redelivery.

The worker subscribes it (`register`); the machinery it runs on is generic (`events/`).

Brokers deliver at least once (and the relay may publish twice after a crash), so the
consumer records each `event_id` it applied in `processed_events`, in the same transaction as
its effect: a duplicate finds its id there and changes nothing.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from {{ cookiecutter.package_name }}.events.broker import EventBus
from {{ cookiecutter.package_name }}.events.models import ProcessedEvent
from {{ cookiecutter.package_name }}.items.counters import ItemStat
from {{ cookiecutter.package_name }}.items.events import ItemCreated

logger = structlog.get_logger(__name__)
CONSUMER = "item-stats"
ITEMS_CREATED = "items_created"


def _insert(session: AsyncSession) -> Any:  # noqa: ANN401 - dialect-specific Insert classes
    """INSERT with ON CONFLICT support for the session's dialect (PostgreSQL or SQLite)."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


class ItemStatsConsumer:
    """Applies ItemCreated events to the `item_stats` counters."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self.applied = 0  # this process's tallies, for logs and tests
        self.duplicates = 0

    async def handle(self, event: ItemCreated) -> bool:
        """Apply the event once; False for a duplicate. Raising makes the broker redeliver."""
        async with self._sessionmaker() as session, session.begin():
            insert = _insert(session)
            claimed = await session.execute(
                insert(ProcessedEvent)
                .values(consumer=CONSUMER, event_id=str(event.event_id))
                .on_conflict_do_nothing()
            )
            if claimed.rowcount == 0:  # type: ignore[attr-defined]  # CursorResult for DML
                self.duplicates += 1
                logger.info("duplicate event ignored", event_id=str(event.event_id))
                return False
            await session.execute(
                insert(ItemStat)
                .values(name=ITEMS_CREATED, value=0)
                .on_conflict_do_nothing(index_elements=[ItemStat.name])
            )
            await session.execute(
                update(ItemStat)
                .where(ItemStat.name == ITEMS_CREATED)
                .values(value=ItemStat.value + 1)
            )
        self.applied += 1
        return True


def register(bus: EventBus, consumer: ItemStatsConsumer) -> None:
    """Subscribe the consumer's handler on the bus's broker (before `broker.start()`)."""

    @bus.subscriber(ItemCreated.event_type, group=CONSUMER)
    async def on_item_created(event: ItemCreated) -> None:
        await consumer.handle(event)
