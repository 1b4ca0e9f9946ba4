"""NATS JetStream through FastStream: one stream per service, a durable pull consumer per group.

The rest of the event bus, the same for every broker, is `common.BaseEventBus`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, override

from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.opentelemetry import NatsTelemetryMiddleware as TelemetryMiddleware
from faststream.nats.publisher.usecase import LogicPublisher

from {{ cookiecutter.package_name }}.events.brokers import common
from {{ cookiecutter.package_name }}.events.schemas import Event

Broker = NatsBroker
DEFAULT_URL = "nats://127.0.0.1:4222"  # BROKER_URL


def create_broker(settings: common.BrokerSettings) -> Broker:
    """Broker from settings; connecting is the worker's job (`broker.start()`)."""
    return Broker(
        settings.broker_url.get_secret_value(), **common.broker_options(TelemetryMiddleware())
    )


@dataclass(frozen=True)
class Topology(common.BaseTopology):
    """The JetStream stream of the service, named from EVENTS_PREFIX."""

    @property
    def stream(self) -> JStream:
        """JetStream stream holding every subject of the service (stream names have no dots)."""
        return JStream(self.prefix.replace(".", "-"), subjects=[f"{self.prefix}.>"])


class EventBus(common.BaseEventBus[Broker, Topology]):
    """Publishers and pull consumers bound to the service's stream (declared with them)."""

    @override
    def _publisher(
        self, destination: str, schema: type[Event] | None, doc: str | None
    ) -> LogicPublisher:
        return self.broker.publisher(
            destination, stream=self.topology.stream, schema=schema, description=doc
        )

    @override
    def headers(self, event: Event) -> dict[str, Any]:
        """JetStream drops a repeated Nats-Msg-Id inside its duplicate window."""
        return {**super().headers(event), "Nats-Msg-Id": str(event.event_id)}

    @override
    def subscriber(self, event_type: str, group: str) -> Callable[[Any], Any]:
        topic = self.topology.topic(event_type)
        return self.broker.subscriber(
            topic,
            stream=self.topology.stream,
            durable=group,  # a pull consumer: replicas of the worker share it
            pull_sub=PullSub(batch_size=10, timeout=1.0),
            ack_policy=AckPolicy.NACK_ON_ERROR,
            title=f"{topic}.{group}",
        )
