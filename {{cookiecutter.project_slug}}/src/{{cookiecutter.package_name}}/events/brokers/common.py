"""What every broker adapter shares: broker-side names, event headers and the event bus itself.

A broker module (`rabbitmq.py`, `kafka.py`, `nats.py`) subclasses `BaseEventBus` with only what
differs per broker: how a publisher and a subscription are declared. Only the worker process
(`python -m {{ cookiecutter.package_name }}.worker`) connects; the API writes events to the outbox
table and never waits on the broker.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

from faststream.opentelemetry import TelemetryMiddleware
from pydantic import SecretStr

from {{ cookiecutter.package_name }}.events.schemas import EVENT_TYPES, Event

PING_TIMEOUT = 2.0  # seconds the relay waits for the broker connection before backing off


class BrokerSettings(Protocol):
    """What creating a broker reads: BROKER_URL (`events/settings.py`, default per broker)."""

    @property
    def broker_url(self) -> SecretStr:
        """Where the broker is."""
        ...


class BrokerOptions(TypedDict):
    """How every broker is built, whichever the technology."""

    logger: None
    middlewares: tuple[TelemetryMiddleware[Any]]


def broker_options(telemetry: TelemetryMiddleware[Any]) -> BrokerOptions:
    """No FastStream log of its own (the relay and the consumers log through structlog).

    The broker's telemetry middleware puts the W3C trace context into every published
    message's headers and continues it in consumers (spans only once tracing is configured).
    """
    return {"logger": None, "middlewares": (telemetry,)}


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


class Publisher(Protocol):
    """The one call the bus makes on a FastStream publisher, whichever the broker."""

    async def publish(self, message: Any, /, *, headers: dict[str, Any]) -> object:  # noqa: ANN401 - an event or raw bytes
        """Publish and wait for the broker's acknowledgement."""
        ...


class Pingable(Protocol):
    """The one call the bus makes on a FastStream broker itself."""

    async def ping(self, timeout: float | None) -> bool:  # noqa: ASYNC109 - FastStream's signature
        """Whether the connection is alive."""
        ...


class BaseEventBus[BrokerT: Pingable, TopologyT: BaseTopology](ABC):
    """Durable publishing of events (AsyncAPI-documented) and of dead letters."""

    def __init__(self, broker: BrokerT, topology: TopologyT) -> None:
        self.broker = broker
        self.topology = topology
        self._publishers = {
            event_type: self._publisher(topology.topic(event_type), schema, schema.__doc__)
            for event_type, schema in EVENT_TYPES.items()
        }
        self._dead_letters = self._publisher(
            topology.dead_letter, None, "Events that could not be published or processed."
        )

    @abstractmethod
    def _publisher(
        self, destination: str, schema: type[Event] | None, doc: str | None
    ) -> Publisher:
        """The broker's publisher to `destination`; `schema` None is the dead-letter one."""

    @abstractmethod
    def subscriber(self, event_type: str, group: str) -> Callable[[Any], Any]:
        """Durable subscription of one consumer group to one event type."""

    async def prepare(self) -> None:  # noqa: B027 - a hook: most brokers declare nothing
        """Declare what publishing needs before the first event (after `broker.start()`).

        Nothing by default: a broker that needs a declaration (RabbitMQ's dead-letter queue)
        overrides it.
        """

    async def connected(self) -> bool:
        """Whether the broker answers; the relay backs off instead of burning attempts."""
        return await self.broker.ping(timeout=PING_TIMEOUT)

    def headers(self, event: Event) -> dict[str, Any]:
        """Headers of a published event; a broker may add its own (NATS: its dedupe id)."""
        return event_headers(event)

    async def publish(self, event: Event) -> None:
        """Publish and wait for the broker's acknowledgement; raises when it is refused."""
        await self._publishers[event.event_type].publish(event, headers=self.headers(event))

    async def dead_letter(self, event_type: str, event_id: str, payload: str, reason: str) -> None:
        """Park a payload that will never be delivered, with why, for an operator to inspect."""
        headers = dead_letter_headers(event_type, event_id, reason)
        await self._dead_letters.publish(payload.encode(), headers=headers)
