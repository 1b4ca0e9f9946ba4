"""RabbitMQ through FastStream: a topic exchange, quorum queues per consumer group, dead letters.

The rest of the event bus, the same for every broker, is `common.BaseEventBus`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, override

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

from {{ cookiecutter.package_name }}.events.brokers import common
from {{ cookiecutter.package_name }}.events.schemas import Event

Broker = RabbitBroker
DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/"  # BROKER_URL
# A consumer's message that fails this many deliveries moves to the dead-letter queue.
DELIVERY_LIMIT = 5


def create_broker(settings: common.BrokerSettings) -> Broker:
    """Broker from settings; connecting is the worker's job (`broker.start()`).

    Publisher confirms are on by default, so a publish returns once the broker holds the
    message. Events are published without `mandatory`: one that no queue binds yet (its
    consumers come later) is delivered to nobody, which is success, not a retry. Only the
    dead-letter publisher is mandatory, and on_return_raises makes a missing queue an error.
    """
    return Broker(
        settings.broker_url.get_secret_value(),
        default_channel=Channel(on_return_raises=True),
        **common.broker_options(TelemetryMiddleware()),
    )


@dataclass(frozen=True)
class Topology(common.BaseTopology):
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


class EventBus(common.BaseEventBus[Broker, Topology]):
    """Persistent publishes to the exchange; dead letters to a queue declared up front."""

    @override
    def _publisher(
        self, destination: str, schema: type[Event] | None, doc: str | None
    ) -> RabbitPublisher:
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

    @override
    async def prepare(self) -> None:
        """Declare what publishing needs before the first event (after `broker.start()`)."""
        await self.broker.declare_queue(self.topology.dead_letter_queue)

    @override
    def subscriber(self, event_type: str, group: str) -> Callable[[Any], Any]:
        return self.broker.subscriber(
            self.topology.queue(event_type, group),
            self.topology.exchange,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            title=f"{self.topology.topic(event_type)}.{group}",
        )
