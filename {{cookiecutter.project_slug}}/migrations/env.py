"""Alembic environment: async engine from the service's settings, batch mode on SQLite."""

from __future__ import annotations

import asyncio
import warnings
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, pool
from sqlalchemy.exc import SAWarning
from sqlalchemy.ext.asyncio import create_async_engine

import {{ cookiecutter.package_name }}.idempotency.models as _idempotency  # noqa: F401 - registers tables
from {{ cookiecutter.package_name }}.db.base import Base
{% if cookiecutter.messaging != "none" -%}
from {{ cookiecutter.package_name }}.events import models as _events  # noqa: F401 - registers tables
from {{ cookiecutter.package_name }}.items import counters as _counters  # noqa: F401 - registers tables
{% endif -%}
from {{ cookiecutter.package_name }}.items import models as _items  # noqa: F401 - registers tables
from {{ cookiecutter.package_name }}.startup import settings_or_exit

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name)

target_metadata = Base.metadata


def database_url() -> str:
    """An explicit `sqlalchemy.url` (tests) wins over DATABASE_URL from the settings."""
    explicit = config.get_main_option("sqlalchemy.url")
    return explicit or settings_or_exit().database_url.get_secret_value()


def configure(connection: Connection | None = None, url: str | None = None) -> None:
    dialect = connection.dialect.name if connection is not None else (url or "").split(":")[0]
    if dialect.startswith("sqlite"):
        # SQLite's reflection cannot read expression indexes (lower(name)), so SQLAlchemy and
        # Alembic skip them, saying so; PostgreSQL reads and compares them.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression", SAWarning)
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        render_as_batch=dialect.startswith("sqlite"),  # SQLite cannot ALTER most things
        literal_binds=connection is None,
    )


def run_offline() -> None:
    configure(url=database_url())
    with context.begin_transaction():
        context.run_migrations()


def run_sync(connection: Connection) -> None:
    configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    engine = create_async_engine(database_url(), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(run_sync)
    await engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    asyncio.run(run_online())
