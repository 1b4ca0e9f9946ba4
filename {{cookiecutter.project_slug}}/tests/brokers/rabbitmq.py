"""RabbitMQ in tests: the in-memory stand-in, an address nothing listens on, clean-up."""

from __future__ import annotations

import pytest
from faststream.rabbit import TestRabbitBroker as TestBroker

from {{ cookiecutter.package_name }}.events.broker import Topology

__all__ = ["MARKS", "REAL_BROKER_DEDUPES", "UNREACHABLE", "TestBroker", "delete_names"]

UNREACHABLE = "amqp://guest:guest@127.0.0.1:1/"
MARKS: list[pytest.MarkDecorator] = []
REAL_BROKER_DEDUPES = False  # a re-published event reaches the consumer, which skips it


async def delete_names(url: str, topology: Topology) -> None:
    """Remove a test's queues and exchange from a real broker."""
    import aio_pika  # noqa: PLC0415 - only with a real broker

    connection = await aio_pika.connect(url)
    async with connection, connection.channel() as channel:
        await channel.queue_delete(topology.queue("item.created", "item-stats").name)
        await channel.queue_delete(topology.dead_letter)
        await channel.exchange_delete(topology.exchange.name)
