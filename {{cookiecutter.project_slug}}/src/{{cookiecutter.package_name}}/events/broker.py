"""The broker this service was generated for ({{ cookiecutter.messaging }}): `events/brokers/`.

The one place that names the technology; everything else imports the adapter from here.
"""

from __future__ import annotations

from {{ cookiecutter.package_name }}.events.brokers.{{ cookiecutter.messaging }} import (
    DEFAULT_URL,
    Broker,
    EventBus,
    Topology,
    create_broker,
)

__all__ = ["DEFAULT_URL", "Broker", "EventBus", "Topology", "create_broker"]
