"""The machine's services (PostgreSQL, Redis, brokers) for tests, with throwaway state."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from tests.support.env import port_open

PG_HOST = os.environ.get("PGHOST", "127.0.0.1")
PG_PORT = int(os.environ.get("PGPORT", "5432"))
PG_USER = os.environ.get("PGUSER", "postgres")
REDIS_HOST = os.environ.get("REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("REDIS_PORT", "6379"))
# Brokers the generated projects' real-broker tests use (TEST_BROKER_URL); Kafka runs in memory.
BROKER_URLS = {
    "rabbitmq": os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/"),
    "nats": os.environ.get("NATS_URL", "nats://127.0.0.1:4222"),
}


def postgres_available() -> bool:
    return port_open(PG_HOST, PG_PORT)


def redis_available() -> bool:
    return port_open(REDIS_HOST, REDIS_PORT)


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one generated project; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def execute(database_url: str, query: str) -> list[tuple[object, ...]]:
    """Run one statement (committed) in a database `scratch_database` made; its rows, if any."""
    name = urlsplit(database_url).path.lstrip("/")
    conninfo = f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname={name}"
    with psycopg.connect(conninfo, autocommit=True) as connection:
        cursor = connection.execute(query.encode())
        return cursor.fetchall() if cursor.description else []


def broker_available(messaging: str) -> bool:
    """Whether the machine's broker for this messaging option answers on its port."""
    url = urlsplit(BROKER_URLS[messaging])
    return port_open(url.hostname or "127.0.0.1", url.port or 0)


def redis_url(database: int) -> str:
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{database}"
