from __future__ import annotations

{% if cookiecutter.messaging == "rabbitmq" -%}
from faststream.rabbit import TestRabbitBroker as TestBroker
{%- elif cookiecutter.messaging == "kafka" -%}
from faststream.kafka import TestKafkaBroker as TestBroker
{%- elif cookiecutter.messaging == "nats" -%}
from faststream.nats import TestNatsBroker as TestBroker
{%- endif %}

from {{ cookiecutter.package_name }}.events.broker import Broker, create_broker
from {{ cookiecutter.package_name }}.events.schemas import ITEM_CREATED, ItemCreated
from {{ cookiecutter.package_name }}.settings import Settings


async def test_item_created_round_trips_through_the_broker() -> None:
    broker: Broker = create_broker(Settings(_env_file=None))
    received: list[ItemCreated] = []

    @broker.subscriber(ITEM_CREATED)
    async def handle(event: ItemCreated) -> None:
        received.append(event)

    event = ItemCreated(item_id=1, name="a", price_cents=5)
    async with TestBroker(broker) as test_broker:
        await test_broker.publish(event, ITEM_CREATED)
    assert received == [event]
