"""NATS in tests: the in-memory stand-in, an address nothing listens on, clean-up."""

from __future__ import annotations

import pytest
from faststream.nats import TestNatsBroker as TestBroker

from {{ cookiecutter.package_name }}.events.broker import Topology

__all__ = ["MARKS", "REAL_BROKER_DEDUPES", "UNREACHABLE", "TestBroker", "delete_names"]

UNREACHABLE = "nats://127.0.0.1:1"
MARKS: list[pytest.MarkDecorator] = []
# JetStream drops a re-published Nats-Msg-Id inside its duplicate window, before the consumer.
REAL_BROKER_DEDUPES = True


async def delete_names(url: str, topology: Topology) -> None:
    """Remove a test's stream from a real broker."""
    import nats  # noqa: PLC0415 - only with a real broker

    client = await nats.connect(url)
    await client.jetstream().delete_stream(topology.stream.name)
    await client.close()
