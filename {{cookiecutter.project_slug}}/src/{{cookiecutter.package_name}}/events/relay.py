"""Outbox relay: publish pending events, mark them sent, retry with backoff, bury poison.

Delivery is at least once: a crash between the broker's acknowledgement and the commit that
marks the row sent publishes that event again, which is why consumers dedupe on `event_id`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import structlog
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from {{ cookiecutter.package_name }}.clock import utcnow
from {{ cookiecutter.package_name }}.events.models import DEAD, SENT, OutboxEvent
from {{ cookiecutter.package_name }}.events.outbox import OutboxRepository
from {{ cookiecutter.package_name }}.events.schemas import EVENT_TYPES, Event

logger = structlog.get_logger(__name__)


class Bus(Protocol):
    """What the relay needs from the broker side (`events.broker.EventBus`)."""

    async def connected(self) -> bool:
        """Whether the broker is reachable now."""
        ...

    async def publish(self, event: Event) -> None:
        """Publish and wait for the broker's acknowledgement."""
        ...

    async def dead_letter(self, event_type: str, event_id: str, payload: str, reason: str) -> None:
        """Park an undeliverable payload."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: base x 2^(attempt-1), capped, times 0.5..1."""

    max_attempts: int = 8
    base_seconds: float = 0.5
    max_seconds: float = 300.0
    jitter: Callable[[], float] = field(default=random.random)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before the given (1-based) retry."""
        capped = min(self.max_seconds, self.base_seconds * 2.0 ** min(attempt - 1, 30))
        return float(capped * (0.5 + self.jitter() / 2))


@dataclass
class RelayRun:
    """What one pass did."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    claimed: int = 0
    broker_down: bool = False


class OutboxRelay:
    """Moves outbox rows to the broker, one transaction per batch."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        bus: Bus,
        policy: RetryPolicy,
        batch_size: int = 100,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._bus = bus
        self._policy = policy
        self._batch_size = batch_size
        self._clock = clock

    async def run_once(self) -> RelayRun:
        """Publish one batch of due events; a broker outage leaves every row untouched."""
        result = RelayRun()
        if not await self._bus.connected():
            result.broker_down = True
            return result
        async with self._sessionmaker() as session, session.begin():
            rows = await OutboxRepository(session).claim_pending(self._clock(), self._batch_size)
            result.claimed = len(rows)
            for row in rows:
                if not await self._deliver(row, result):
                    result.broker_down = True
                    break
        return result

    async def _deliver(self, row: OutboxEvent, result: RelayRun) -> bool:
        """Publish one row; False when the broker went away (the row keeps its attempts)."""
        try:
            event = EVENT_TYPES[row.event_type].model_validate_json(row.payload)
        except (KeyError, ValidationError) as exc:
            await self._bury(row, f"undecodable {row.event_type} payload: {exc}", result)
            return True
        try:
            await self._bus.publish(event)
        except Exception as exc:  # noqa: BLE001 - any refusal is retried; outages are told apart below
            if not await self._bus.connected():
                return False
            row.attempts += 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if row.attempts >= self._policy.max_attempts:
                await self._bury(row, row.last_error, result)
            else:
                delay = self._policy.delay(row.attempts)
                row.available_at = self._clock() + timedelta(seconds=delay)
                result.retried += 1
                logger.warning(
                    "event publish failed, will retry",
                    event_id=row.event_id,
                    attempt=row.attempts,
                    retry_in_seconds=round(delay, 2),
                    error=row.last_error,
                )
            return True
        row.status = SENT
        row.sent_at = self._clock()
        result.sent += 1
        return True

    async def _bury(self, row: OutboxEvent, reason: str, result: RelayRun) -> None:
        """Poison: mark the row dead (it stays in the table) and copy it to the dead letters."""
        row.status = DEAD
        row.last_error = reason[:2000]
        result.dead += 1
        logger.error("event moved to the dead-letter queue", event_id=row.event_id, error=reason)
        with contextlib.suppress(Exception):  # the dead row is the durable record
            await self._bus.dead_letter(row.event_type, row.event_id, row.payload, reason)

    async def run(
        self,
        stop: asyncio.Event,
        idle_seconds: float,
        heartbeat: Callable[[], None] = lambda: None,
        sleep: Callable[[float], Awaitable[object]] | None = None,
    ) -> None:
        """Relay until `stop` is set: at once while batches are full, else every idle_seconds."""
        failures = 0
        while not stop.is_set():
            heartbeat()
            try:
                result = await self.run_once()
            except (SQLAlchemyError, OSError) as exc:
                logger.warning("outbox unavailable, backing off", error=str(exc))
                result = RelayRun(broker_down=True)
            if result.broker_down:
                failures += 1
                delay = self._policy.delay(failures)
                logger.warning("broker unavailable, events wait in the outbox", retry_in=delay)
            else:
                failures = 0
                delay = 0.0 if result.claimed == self._batch_size else idle_seconds
            if result.sent or result.dead:
                logger.info("outbox relayed", sent=result.sent, dead=result.dead)
            await (sleep or _sleep_until(stop))(delay)


def _sleep_until(stop: asyncio.Event) -> Callable[[float], Awaitable[object]]:
    async def sleep(seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)

    return sleep
