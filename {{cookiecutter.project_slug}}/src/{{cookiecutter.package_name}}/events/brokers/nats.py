"""NATS JetStream through FastStream: one stream per service, a durable pull consumer per group.

Only the worker process (`python -m {{ cookiecutter.package_name }}.worker`) connects; the API
writes events to the outbox table and never waits on the broker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.opentelemetry import NatsTelemetryMiddleware as TelemetryMiddleware
from faststream.nats.publisher.usecase import LogicPublisher
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from {{ cookiecutter.package_name }}.events.brokers.common import (
    PING_TIMEOUT,
    BaseTopology,
    dead_letter_headers,
    event_headers,
)
from {{ cookiecutter.package_name }}.events.schemas import EVENT_TYPES, Event

Broker = NatsBroker
Publisher = LogicPublisher

__all__ = ["Broker", "BrokerSettings", "EventBus", "Topology", "create_broker"]


class BrokerSettings(BaseSettings):
    """Where the broker is (BROKER_URL)."""

    broker_url: SecretStr = SecretStr("nats://127.0.0.1:4222")


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


@dataclass(frozen=True)
class Topology(BaseTopology):
    """The JetStream stream of the service, named from EVENTS_PREFIX."""

    @property
    def stream(self) -> JStream:
        """JetStream stream holding every subject of the service (stream names have no dots)."""
        return JStream(self.prefix.replace(".", "-"), subjects=[f"{self.prefix}.>"])


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
        return self.broker.publisher(
            destination, stream=self.topology.stream, schema=schema, description=doc
        )

    async def prepare(self) -> None:
        """Declare what publishing needs before the first event: the stream comes with it."""

    async def connected(self) -> bool:
        """Whether the broker answers; the relay backs off instead of burning attempts."""
        return await self.broker.ping(timeout=PING_TIMEOUT)

    async def publish(self, event: Event) -> None:
        """Publish and wait for the broker's acknowledgement; raises when it is refused."""
        headers = event_headers(event)
        headers["Nats-Msg-Id"] = str(event.event_id)  # JetStream drops duplicates in its window
        await self._publishers[event.event_type].publish(event, headers=headers)

    async def dead_letter(self, event_type: str, event_id: str, payload: str, reason: str) -> None:
        """Park a payload that will never be delivered, with why, for an operator to inspect."""
        headers = dead_letter_headers(event_type, event_id, reason)
        await self._dead_letters.publish(payload.encode(), headers=headers)

    def subscriber(self, event_type: str, group: str) -> Callable[[Any], Any]:
        """Durable subscription of one consumer group to one event type."""
        topic = self.topology.topic(event_type)
        return self.broker.subscriber(
            topic,
            stream=self.topology.stream,
            durable=group,  # a pull consumer: replicas of the worker share it
            pull_sub=PullSub(batch_size=10, timeout=1.0),
            ack_policy=AckPolicy.NACK_ON_ERROR,
            title=f"{topic}.{group}",
        )
