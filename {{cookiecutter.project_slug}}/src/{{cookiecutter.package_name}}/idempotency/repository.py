"""SQL for idempotency keys: claim a key (or find its answer) and store the answer.

PostgreSQL: the INSERT of a key another transaction has inserted but not committed waits for
that transaction, at most the request's `wait` (`SET LOCAL lock_timeout`); past it, sqlstate
55P03 becomes `RequestInProgressError`. When the first commits the INSERT does nothing and the
stored answer is read; when it rolls back (an error, which is never stored) the INSERT goes on
and this request is the first. SQLite has one writer at a time: a retry waits for the first
request's whole transaction like any write (its busy timeout, DATABASE_CONNECT_TIMEOUT), then
reads the answer; a first request slower than that gives the retry a 503, not a 409.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from {{ cookiecutter.package_name }}.errors import IdempotencyKeyReusedError, RequestInProgressError
from {{ cookiecutter.package_name }}.idempotency.keys import IdempotentRequest, StoredResponse
from {{ cookiecutter.package_name }}.idempotency.models import IdempotencyKey

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout expired
ATTEMPTS = 3  # a claim races a purge or another takeover of an expired key at most this often


class IdempotencyRepository:
    """Idempotency keys bound to one session (one unit of work)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim(self, request: IdempotentRequest, now: datetime) -> StoredResponse | None:
        """None when the key is now this transaction's; else the stored answer (see module)."""
        postgres = self._session.get_bind().dialect.name == "postgresql"
        if postgres:
            # An integer of milliseconds, never 0 (which would mean: wait forever).
            wait_ms = max(1, round(request.wait.total_seconds() * 1000))
            await self._session.execute(text(f"SET LOCAL lock_timeout = {wait_ms}"))
        try:
            answer = await self._claim(request, now)
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            raise RequestInProgressError(
                "A request with this Idempotency-Key is still in progress; retry later."
            ) from exc
        if postgres:  # the item's own statements wait as they always did
            await self._session.execute(text("SET LOCAL lock_timeout TO DEFAULT"))
        return answer

    async def _claim(self, request: IdempotentRequest, now: datetime) -> StoredResponse | None:
        for _ in range(ATTEMPTS):
            if await self._insert(request, now):
                return None
            row = await self._session.get(
                IdempotencyKey, (request.caller, request.key), populate_existing=True
            )
            if row is None:  # purged since the INSERT: try again
                continue
            if row.expires_at <= now:
                if await self._take_over(request, now):
                    return None
                continue  # another retry took it over first: its answer is committed now
            return answer_of(row, request)
        raise RequestInProgressError("This Idempotency-Key is contested; retry later.")

    async def _insert(self, request: IdempotentRequest, now: datetime) -> bool:
        """Insert the key unless it exists; True when this transaction inserted it."""
        insert = (
            pg_insert if self._session.get_bind().dialect.name == "postgresql" else sqlite_insert
        )
        statement = (
            insert(IdempotencyKey)
            .values(
                caller=request.caller,
                key=request.key,
                fingerprint=request.fingerprint,
                created_at=now,
                expires_at=now + request.ttl,
            )
            .on_conflict_do_nothing(index_elements=["caller", "key"])
            .returning(IdempotencyKey.key)
        )
        return (await self._session.execute(statement)).first() is not None

    async def _take_over(self, request: IdempotentRequest, now: datetime) -> bool:
        """Claim an expired key as new; of parallel takeovers the row lock lets one win."""
        statement = (
            update(IdempotencyKey)
            .where(
                IdempotencyKey.caller == request.caller,
                IdempotencyKey.key == request.key,
                IdempotencyKey.expires_at <= now,
            )
            .values(
                fingerprint=request.fingerprint,
                status=None,
                headers=None,
                body=None,
                created_at=now,
                expires_at=now + request.ttl,
            )
            .returning(IdempotencyKey.key)
            .execution_options(synchronize_session=False)
        )
        return (await self._session.execute(statement)).first() is not None

    async def complete(self, request: IdempotentRequest, response: StoredResponse) -> None:
        """Store the answer on the claimed key, in the transaction of the effect."""
        statement = (
            update(IdempotencyKey)
            .where(IdempotencyKey.caller == request.caller, IdempotencyKey.key == request.key)
            .values(
                status=response.status,
                headers=json.dumps([list(pair) for pair in response.headers]),
                body=response.body,
            )
            .execution_options(synchronize_session=False)
        )
        await self._session.execute(statement)


def answer_of(row: IdempotencyKey, request: IdempotentRequest) -> StoredResponse:
    """The stored answer, if the key was for this very request and has one."""
    if row.fingerprint != request.fingerprint:
        raise IdempotencyKeyReusedError(
            "This Idempotency-Key was used for a different request; use a new key."
        )
    if row.status is None or row.body is None or row.headers is None:
        raise RequestInProgressError(
            "A request with this Idempotency-Key is still in progress; retry later."
        )
    headers = tuple((str(name), str(value)) for name, value in json.loads(row.headers))
    return StoredResponse(status=row.status, headers=headers, body=row.body)
