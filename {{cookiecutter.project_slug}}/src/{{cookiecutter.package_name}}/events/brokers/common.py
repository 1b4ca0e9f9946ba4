"""What every broker adapter shares: broker-side names and the headers of an event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from {{ cookiecutter.package_name }}.events.schemas import Event

PING_TIMEOUT = 2.0  # seconds the relay waits for the broker connection before backing off


@dataclass(frozen=True)
class BaseTopology:
    """Every broker-side name, derived from one prefix (EVENTS_PREFIX)."""

    prefix: str

    def topic(self, event_type: str) -> str:
        """Where events of one type are published, e.g. `<prefix>.item.created`."""
        return f"{self.prefix}.{event_type}"

    @property
    def dead_letter(self) -> str:
        """Events the relay gave up on, and consumer messages that keep failing."""
        return f"{self.prefix}.dead-letter"


def event_headers(event: Event) -> dict[str, Any]:
    """Headers consumers dedupe and route on, without parsing the payload."""
    return {"event-id": str(event.event_id), "event-type": event.event_type}


def dead_letter_headers(event_type: str, event_id: str, reason: str) -> dict[str, Any]:
    """Headers of a parked payload: which event, and why it will never be delivered."""
    return {"event-id": event_id, "event-type": event_type, "x-error": reason[:500]}
