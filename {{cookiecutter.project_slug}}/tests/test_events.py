from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar

import pytest
from faststream import Context
from faststream.message import StreamMessage
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from {{ cookiecutter.package_name }}.events.broker import EventBus, Topology, create_broker
from {{ cookiecutter.package_name }}.events.schemas import EVENT_TYPES, Event
from {{ cookiecutter.package_name }}.items.events import ItemCreated, ItemDeleted
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.worker import asyncapi
from tests.broker import TestBroker


async def test_item_created_round_trips_through_the_broker() -> None:
    bus = EventBus(create_broker(Settings(_env_file=None)), Topology("t"))
    received: list[ItemCreated] = []

    @bus.subscriber(ItemCreated.event_type, group="g")
    async def handle(event: ItemCreated) -> None:
        received.append(event)

    event = ItemCreated(item_id=1, name="a", price_cents=5)
    async with TestBroker(bus.broker):
        await bus.prepare()
        assert await bus.connected()
        await bus.publish(event)
    assert received == [event]


def test_each_feature_event_is_registered_once_under_its_type() -> None:
    """The relay decodes and the bus publishes by type: a second class for one type is refused."""
    assert EVENT_TYPES["item.created"] is ItemCreated
    assert EVENT_TYPES["item.deleted"] is ItemDeleted
    with pytest.raises(TypeError, match="declared twice"):

        class Impostor(Event):
            event_type: ClassVar[str] = "item.created"

    assert EVENT_TYPES["item.created"] is ItemCreated


def test_asyncapi_documents_the_event_schemas() -> None:
    document = json.loads(asyncapi(Settings(_env_file=None)))
    assert document["asyncapi"].startswith("3.")
    schemas = document["components"]["schemas"]
    created = set(schemas["ItemCreated"]["properties"])
    assert {"event_id", "item_id", "name", "price_cents"} <= created
    assert "ItemDeleted" in schemas


async def test_trace_context_travels_with_events() -> None:
    """The publisher's trace goes out in the message headers and continues in the consumer."""
    bus = EventBus(create_broker(Settings(_env_file=None)), Topology("t"))
    seen: list[tuple[str, int]] = []

    @bus.subscriber(ItemCreated.event_type, group="g")
    async def handle(
        _event: ItemCreated, message: Annotated[StreamMessage[Any], Context()]
    ) -> None:
        current = trace.get_current_span().get_span_context().trace_id
        seen.append((str(message.headers.get("traceparent", "")), current))

    tracer = TracerProvider().get_tracer("test")
    async with TestBroker(bus.broker):
        await bus.prepare()
        with tracer.start_as_current_span("request") as span:
            await bus.publish(ItemCreated(item_id=1, name="a", price_cents=5))
    trace_id = span.get_span_context().trace_id
    ((traceparent, current),) = seen
    assert traceparent.split("-")[1] == format(trace_id, "032x")
    assert current == trace_id
