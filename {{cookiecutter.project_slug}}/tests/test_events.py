from __future__ import annotations

import json

{% if cookiecutter.messaging == "rabbitmq" -%}
from faststream.rabbit import TestRabbitBroker as TestBroker
{%- elif cookiecutter.messaging == "kafka" -%}
from faststream.kafka import TestKafkaBroker as TestBroker
{%- elif cookiecutter.messaging == "nats" -%}
from faststream.nats import TestNatsBroker as TestBroker
{%- endif %}

from {{ cookiecutter.package_name }}.events.broker import EventBus, Topology, create_broker
from {{ cookiecutter.package_name }}.events.schemas import ItemCreated
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.worker import asyncapi


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


def test_asyncapi_documents_the_event_schemas() -> None:
    document = json.loads(asyncapi(Settings(_env_file=None)))
    assert document["asyncapi"].startswith("3.")
    schemas = document["components"]["schemas"]
    created = set(schemas["ItemCreated"]["properties"])
    assert {"event_id", "item_id", "name", "price_cents"} <= created
    assert "ItemDeleted" in schemas
