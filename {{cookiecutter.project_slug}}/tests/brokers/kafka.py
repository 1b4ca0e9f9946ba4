"""Kafka in tests: the in-memory stand-in, an address nothing listens on, clean-up."""

from __future__ import annotations

import pytest
from faststream.kafka import TestKafkaBroker as TestBroker

from {{ cookiecutter.package_name }}.events.broker import Topology

__all__ = ["MARKS", "REAL_BROKER_DEDUPES", "UNREACHABLE", "TestBroker", "delete_names"]

UNREACHABLE = "127.0.0.1:1"
# FastStream leaves the AIOKafkaProducer of a failed start (broker unreachable) unclosed; its
# ResourceWarning surfaces in whichever test of the module runs the garbage collector next.
MARKS = [pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]
REAL_BROKER_DEDUPES = False  # a re-published event reaches the consumer, which skips it


async def delete_names(url: str, topology: Topology) -> None:
    """Nothing to remove: Kafka topics are left to the broker's retention."""
    _ = url, topology
