"""The FastStream broker for the chosen messaging system, built from settings."""

from __future__ import annotations

{% if cookiecutter.messaging == "rabbitmq" -%}
from faststream.rabbit import RabbitBroker as Broker
{%- elif cookiecutter.messaging == "kafka" -%}
from faststream.kafka import KafkaBroker as Broker
{%- elif cookiecutter.messaging == "nats" -%}
from faststream.nats import NatsBroker as Broker
{%- endif %}

from {{ cookiecutter.package_name }}.settings import Settings

__all__ = ["Broker", "create_broker"]


def create_broker(settings: Settings) -> Broker:
    """Broker connected lazily: only the worker process connects, the API never blocks on it."""
    return Broker(settings.broker_url.get_secret_value())
