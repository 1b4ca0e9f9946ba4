"""Kafka through FastStream: a topic per event type, a consumer group per consumer.

Only the worker process (`python -m {{ cookiecutter.package_name }}.worker`) connects; the API
writes events to the outbox table and never waits on the broker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware as TelemetryMiddleware
from faststream.kafka.publisher.usecase import DefaultPublisher
from faststream.middlewares import AckPolicy
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from {{ cookiecutter.package_name }}.events.brokers.common import (
    PING_TIMEOUT,
    BaseTopology,
    dead_letter_headers,
    event_headers,
)
from {{ cookiecutter.package_name }}.events.schemas import EVENT_TYPES, Event

Broker = KafkaBroker
Publisher = DefaultPublisher
Topology = BaseTopology  # topics only: nothing to declare beyond their names

__all__ = ["Broker", "BrokerSettings", "EventBus", "Topology", "create_broker"]


class BrokerSettings(BaseSettings):
    """Where the broker is (BROKER_URL: bootstrap servers)."""

    broker_url: SecretStr = SecretStr("127.0.0.1:9092")


def create_broker(settings: BrokerSettings) -> Broker:
    """Broker from settings; connecting is the worker's job (`broker.start()`).

    The telemetry middleware puts the W3C trace context into every published message's
    headers and continues it in consumers (spans only once tracing is configured).
    """
    return Broker(
        settings.broker_url.get_secret_value(),
        logger=None,
        middlewares=(TelemetryMiddleware(),),
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
        return self.broker.publisher(destination, schema=schema, description=doc)

    async def prepare(self) -> None:
        """Declare what publishing needs before the first event: nothing, topics auto-create."""

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
        topic = self.topology.topic(event_type)
        return self.broker.subscriber(
            topic,
            group_id=group,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            title=f"{topic}.{group}",
        )
