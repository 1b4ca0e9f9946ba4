"""Kafka through FastStream: a topic per event type, a consumer group per consumer.

The rest of the event bus, the same for every broker, is `common.BaseEventBus`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, override

from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware as TelemetryMiddleware
from faststream.kafka.publisher.usecase import DefaultPublisher
from faststream.middlewares import AckPolicy

from {{ cookiecutter.package_name }}.events.brokers import common
from {{ cookiecutter.package_name }}.events.schemas import Event

Broker = KafkaBroker
Topology = common.BaseTopology  # topics only: nothing to declare beyond their names
DEFAULT_URL = "127.0.0.1:9092"  # BROKER_URL: the bootstrap servers


def create_broker(settings: common.BrokerSettings) -> Broker:
    """Broker from settings; connecting is the worker's job (`broker.start()`)."""
    return Broker(
        settings.broker_url.get_secret_value(), **common.broker_options(TelemetryMiddleware())
    )


class EventBus(common.BaseEventBus[Broker, Topology]):
    """A publisher per topic and a consumer group per subscriber; topics auto-create."""

    @override
    def _publisher(
        self, destination: str, schema: type[Event] | None, doc: str | None
    ) -> DefaultPublisher:
        return self.broker.publisher(destination, schema=schema, description=doc)

    @override
    def subscriber(self, event_type: str, group: str) -> Callable[[Any], Any]:
        topic = self.topology.topic(event_type)
        return self.broker.subscriber(
            topic,
            group_id=group,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            title=f"{topic}.{group}",
        )
