"""The FastStream broker for {{ cookiecutter.messaging }}: names, durable publishing, subscriptions.

Only the worker process (`python -m {{ cookiecutter.package_name }}.worker`) connects; the API
writes events to the outbox table and never waits on the broker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

{% if cookiecutter.messaging == "rabbitmq" -%}
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
{%- elif cookiecutter.messaging == "kafka" -%}
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware as TelemetryMiddleware
from faststream.kafka.publisher.usecase import DefaultPublisher
from faststream.middlewares import AckPolicy
{%- elif cookiecutter.messaging == "nats" -%}
from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.opentelemetry import NatsTelemetryMiddleware as TelemetryMiddleware
from faststream.nats.publisher.usecase import LogicPublisher
{%- endif %}

from {{ cookiecutter.package_name }}.events.schemas import EVENT_TYPES, Event
from {{ cookiecutter.package_name }}.settings import Settings

{% if cookiecutter.messaging == "rabbitmq" -%}
Broker = RabbitBroker
Publisher = RabbitPublisher
# A consumer's message that fails this many deliveries moves to the dead-letter queue.
DELIVERY_LIMIT = 5
{%- elif cookiecutter.messaging == "kafka" -%}
Broker = KafkaBroker
Publisher = DefaultPublisher
{%- elif cookiecutter.messaging == "nats" -%}
Broker = NatsBroker
Publisher = LogicPublisher
{%- endif %}
PING_TIMEOUT = 2.0  # seconds the relay waits for the broker connection before backing off

__all__ = ["Broker", "EventBus", "Topology", "create_broker"]


def create_broker(settings: Settings) -> Broker:
    """Broker from settings; connecting is the worker's job (`broker.start()`).

    The telemetry middleware puts the W3C trace context into every published message's
    headers and continues it in consumers (spans only once tracing is configured).
    """
{%- if cookiecutter.messaging == "rabbitmq" %}
    # Publisher confirms are on by default, so a publish returns once the broker holds the
    # message. Events are published without `mandatory`: one that no queue binds yet (its
    # consumers come later) is delivered to nobody, which is success, not a retry. Only the
    # dead-letter publisher is mandatory, and on_return_raises makes a missing queue an error.
    return Broker(
        settings.broker_url.get_secret_value(),
        default_channel=Channel(on_return_raises=True),
        logger=None,
        middlewares=(TelemetryMiddleware(),),
    )
{%- else %}
    return Broker(
        settings.broker_url.get_secret_value(),
        logger=None,
        middlewares=(TelemetryMiddleware(),),
    )
{%- endif %}


@dataclass(frozen=True)
class Topology:
    """Every broker-side name, derived from one prefix (EVENTS_PREFIX)."""

    prefix: str

    def topic(self, event_type: str) -> str:
        """Where events of one type are published, e.g. `<prefix>.item.created`."""
        return f"{self.prefix}.{event_type}"

    @property
    def dead_letter(self) -> str:
        """Events the relay gave up on, and consumer messages that keep failing."""
        return f"{self.prefix}.dead-letter"
{%- if cookiecutter.messaging == "rabbitmq" %}

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
{%- elif cookiecutter.messaging == "nats" %}

    @property
    def stream(self) -> JStream:
        """JetStream stream holding every subject of the service (stream names have no dots)."""
        return JStream(self.prefix.replace(".", "-"), subjects=[f"{self.prefix}.>"])
{%- endif %}


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
{%- if cookiecutter.messaging == "rabbitmq" %}
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
{%- elif cookiecutter.messaging == "kafka" %}
        return self.broker.publisher(destination, schema=schema, description=doc)
{%- elif cookiecutter.messaging == "nats" %}
        return self.broker.publisher(
            destination, stream=self.topology.stream, schema=schema, description=doc
        )
{%- endif %}

    async def prepare(self) -> None:
        """Declare what publishing needs before the first event (after `broker.start()`)."""
{%- if cookiecutter.messaging == "rabbitmq" %}
        await self.broker.declare_queue(self.topology.dead_letter_queue)
{%- endif %}

    async def connected(self) -> bool:
        """Whether the broker answers; the relay backs off instead of burning attempts."""
        return await self.broker.ping(timeout=PING_TIMEOUT)

    async def publish(self, event: Event) -> None:
        """Publish and wait for the broker's acknowledgement; raises when it is refused."""
        headers: dict[str, Any] = {"event-id": str(event.event_id), "event-type": event.event_type}
{%- if cookiecutter.messaging == "nats" %}
        headers["Nats-Msg-Id"] = str(event.event_id)  # JetStream drops duplicates in its window
{%- endif %}
        await self._publishers[event.event_type].publish(event, headers=headers)

    async def dead_letter(self, event_type: str, event_id: str, payload: str, reason: str) -> None:
        """Park a payload that will never be delivered, with why, for an operator to inspect."""
        headers: dict[str, Any] = {
            "event-id": event_id,
            "event-type": event_type,
            "x-error": reason[:500],
        }
        await self._dead_letters.publish(payload.encode(), headers=headers)

    def subscriber(self, event_type: str, group: str) -> Callable[[Any], Any]:
        """Durable subscription of one consumer group to one event type."""
        topic = self.topology.topic(event_type)
{%- if cookiecutter.messaging == "rabbitmq" %}
        return self.broker.subscriber(
            self.topology.queue(event_type, group),
            self.topology.exchange,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            title=f"{topic}.{group}",
        )
{%- elif cookiecutter.messaging == "kafka" %}
        return self.broker.subscriber(
            topic,
            group_id=group,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            title=f"{topic}.{group}",
        )
{%- elif cookiecutter.messaging == "nats" %}
        return self.broker.subscriber(
            topic,
            stream=self.topology.stream,
            durable=group,  # a pull consumer: replicas of the worker share it
            pull_sub=PullSub(batch_size=10, timeout=1.0),
            ack_policy=AckPolicy.NACK_ON_ERROR,
            title=f"{topic}.{group}",
        )
{%- endif %}
