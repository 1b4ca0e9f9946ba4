"""RabbitMQ through FastStream: a topic exchange, quorum queues per consumer group, dead letters.

Only the worker process (`python -m {{ cookiecutter.package_name }}.worker`) connects; the API
writes events to the outbox table and never waits on the broker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from faststream.middlewares import AckPolicy
from faststream.rabbit import (
    Channel,
    ExchangeType,
    QueueType,
    RabbitBroker,
    RabbitExchange,
    RabbitQueue,
)
from faststream.rabbit.opentelemetry import RabbitTelemetryMiddleware as TelemetryMiddleware
from faststream.rabbit.publisher.usecase import RabbitPublisher
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from {{ cookiecutter.package_name }}.events.brokers.common import (
    PING_TIMEOUT,
    BaseTopology,
    dead_letter_headers,
    event_headers,
)
from {{ cookiecutter.package_name }}.events.schemas import EVENT_TYPES, Event

Broker = RabbitBroker
Publisher = RabbitPublisher
# A consumer's message that fails this many deliveries moves to the dead-letter queue.
DELIVERY_LIMIT = 5

__all__ = ["Broker", "BrokerSettings", "EventBus", "Topology", "create_broker"]


class BrokerSettings(BaseSettings):
    """Where the broker is (BROKER_URL)."""

    broker_url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")


def create_broker(settings: BrokerSettings) -> Broker:
    """Broker from settings; connecting is the worker's job (`broker.start()`).

    The telemetry middleware puts the W3C trace context into every published message's
    headers and continues it in consumers (spans only once tracing is configured).
    Publisher confirms are on by default, so a publish returns once the broker holds the
    message. Events are published without `mandatory`: one that no queue binds yet (its
    consumers come later) is delivered to nobody, which is success, not a retry. Only the
    dead-letter publisher is mandatory, and on_return_raises makes a missing queue an error.
    """
    return Broker(
        settings.broker_url.get_secret_value(),
        default_channel=Channel(on_return_raises=True),
        logger=None,
        middlewares=(TelemetryMiddleware(),),
    )


@dataclass(frozen=True)
class Topology(BaseTopology):
    """The exchange and queues of the service, named from EVENTS_PREFIX."""

    @property
    def exchange(self) -> RabbitExchange:
        """Durable topic exchange: each consumer binds its own queue by event type."""
        return RabbitExchange(f"{self.prefix}.events", type=ExchangeType.TOPIC, durable=True)

    @property
    def dead_letter_queue(self) -> RabbitQueue:
        """Durable queue on the default exchange that keeps dead letters for inspection."""
        return RabbitQueue(self.dead_letter, durable=True)

    def queue(self, event_type: str, group: str) -> RabbitQueue:
        """A consumer group's durable (quorum) queue; repeated failures go to the dead letters."""
        return RabbitQueue(
            f"{self.topic(event_type)}.{group}",
            queue_type=QueueType.QUORUM,
            durable=True,
            routing_key=self.topic(event_type),
            arguments={
                "x-delivery-limit": DELIVERY_LIMIT,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": self.dead_letter,
            },
        )


class EventBus:
    """Durable publishing of events (AsyncAPI-documented) and of dead letters."""

    def __init__(self, broker: Broker, topology: Topology) -> None:
        self.broker = broker
        self.topology = topology
        self._publishers = {
            event_type: self._publisher(topology.topic(event_type), schema, schema.__doc__)
            for event_type, schema in EVENT_TYPES.items()
        }
        self._dead_letters = self._publisher(
            topology.dead_letter, None, "Events that could not be published or processed."
        )

    def _publisher(
        self, destination: str, schema: type[Event] | None, doc: str | None
    ) -> Publisher:
        if schema is None:
            return self.broker.publisher(
                self.topology.dead_letter_queue, persist=True, description=doc
            )
        return self.broker.publisher(
            exchange=self.topology.exchange,
            routing_key=destination,
            persist=True,
            mandatory=False,
            schema=schema,
            description=doc,
        )

    async def prepare(self) -> None:
        """Declare what publishing needs before the first event (after `broker.start()`)."""
        await self.broker.declare_queue(self.topology.dead_letter_queue)

    async def connected(self) -> bool:
        """Whether the broker answers; the relay backs off instead of burning attempts."""
        return await self.broker.ping(timeout=PING_TIMEOUT)

    async def publish(self, event: Event) -> None:
        """Publish and wait for the broker's acknowledgement; raises when it is refused."""
        await self._publishers[event.event_type].publish(event, headers=event_headers(event))

    async def dead_letter(self, event_type: str, event_id: str, payload: str, reason: str) -> None:
        """Park a payload that will never be delivered, with why, for an operator to inspect."""
        headers = dead_letter_headers(event_type, event_id, reason)
        await self._dead_letters.publish(payload.encode(), headers=headers)

    def subscriber(self, event_type: str, group: str) -> Callable[[Any], Any]:
        """Durable subscription of one consumer group to one event type."""
        return self.broker.subscriber(
            self.topology.queue(event_type, group),
            self.topology.exchange,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            title=f"{self.topology.topic(event_type)}.{group}",
        )
