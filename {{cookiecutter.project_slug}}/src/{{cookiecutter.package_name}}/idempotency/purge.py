"""Delete expired idempotency keys, in batches (the `purge-idempotency-keys` command).

Run as `python -m {{ cookiecutter.package_name }} purge-idempotency-keys`; the chart
runs it as a CronJob (values `idempotencyPurge`). Each batch is its own short transaction, so
the purge never holds many row locks or one long transaction, and a purge stopped halfway has
still deleted what it committed. An expired key is already treated as new by the API: the
purge only keeps the table small.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import structlog
from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from {{ cookiecutter.package_name }}.clock import utcnow
from {{ cookiecutter.package_name }}.db.engine import create_engine
from {{ cookiecutter.package_name }}.idempotency.models import IdempotencyKey
from {{ cookiecutter.package_name }}.observability.logging import configure_logging
from {{ cookiecutter.package_name }}.startup import settings_or_exit

COMMAND = "purge-idempotency-keys"
BATCH = 1000  # keys per transaction: served by ix_idempotency_keys_expires_at
logger = structlog.get_logger(__name__)


async def purge_expired(engine: AsyncEngine, now: datetime, batch: int = BATCH) -> int:
    """Delete the keys expired at `now`; the number deleted."""
    expired = IdempotencyKey.expires_at <= now
    oldest = select(IdempotencyKey.caller, IdempotencyKey.key).where(expired).limit(batch)
    # `expired` again on the row itself: PostgreSQL re-checks it after waiting for a retry that
    # took the key over (new expiry), which the subquery's snapshot alone would not see.
    statement = delete(IdempotencyKey).where(
        tuple_(IdempotencyKey.caller, IdempotencyKey.key).in_(oldest), expired
    )
    deleted = 0
    while True:
        async with engine.begin() as connection:
            count = (await connection.execute(statement)).rowcount
        deleted += count
        if count < batch:
            return deleted


def main() -> None:
    """The command: purge with the service's settings, log what it did."""
    settings = settings_or_exit()
    configure_logging(settings.log_level, settings.log_format)

    async def run() -> int:
        engine = create_engine(settings)
        try:
            return await purge_expired(engine, utcnow())
        finally:
            await engine.dispose()

    deleted = asyncio.run(run())
    logger.info("expired idempotency keys purged", deleted=deleted)
