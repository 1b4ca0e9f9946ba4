"""SQL for idempotency keys: claim a key (or find its answer) and store the answer.

PostgreSQL: the INSERT of a key another transaction has inserted but not committed waits for
that transaction, at most the request's `wait` (a local `lock_timeout`); past it, sqlstate
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
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from {{ cookiecutter.package_name }}.errors import IdempotencyKeyReusedError, RequestInProgressError
from {{ cookiecutter.package_name }}.idempotency.keys import IdempotentRequest, StoredResponse
from {{ cookiecutter.package_name }}.idempotency.models import IdempotencyKey

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout expired
# set_config(..., true) is SET LOCAL; the INSERT selects from it, so the bound is set before the
# INSERT can wait on the key.
PG_CLAIM = text(
    "WITH bound AS (SELECT set_config('lock_timeout', :wait, true))"
    " INSERT INTO idempotency_keys (caller, key, fingerprint, created_at, expires_at)"
    " SELECT :caller, :key, :fingerprint, CAST(:created_at AS timestamptz),"
    " CAST(:expires_at AS timestamptz) FROM bound"
    " ON CONFLICT (caller, key) DO NOTHING RETURNING key"
)
ATTEMPTS = 3  # a claim races a purge or another takeover of an expired key at most this often


class IdempotencyRepository:
    """Idempotency keys bound to one session (one unit of work)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim(self, request: IdempotentRequest, now: datetime) -> StoredResponse | None:
        """None when the key is now this transaction's; else the stored answer (see module)."""
        try:
            return await self._claim(request, now)
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            raise RequestInProgressError(
                "A request with this Idempotency-Key is still in progress; retry later."
            ) from exc

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
        values = {
            "caller": request.caller,
            "key": request.key,
            "fingerprint": request.fingerprint,
            "created_at": now,
            "expires_at": now + request.ttl,
        }
        if self._session.get_bind().dialect.name != "postgresql":
            statement = (
                sqlite_insert(IdempotencyKey)
                .values(values)
                .on_conflict_do_nothing(index_elements=["caller", "key"])
                .returning(IdempotencyKey.key)
            )
            return (await self._session.execute(statement)).first() is not None
        # The wait's bound and the INSERT in one round trip. It stays for the rest of the
        # transaction: an item INSERT waiting longer on a parallel one of the same name is a 503.
        wait_ms = max(1, round(request.wait.total_seconds() * 1000))  # 0 would mean forever
        inserted = await self._session.execute(PG_CLAIM, {**values, "wait": f"{wait_ms}ms"})
        return inserted.first() is not None

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
