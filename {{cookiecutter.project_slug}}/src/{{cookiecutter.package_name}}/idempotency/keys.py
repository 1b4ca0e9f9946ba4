"""What an idempotency key promises, without I/O: the request it names and the answer it keeps.

A key is scoped to its caller and bound to one request (its fingerprint). The first request's
answer is stored in the transaction of its effect, so a retry finds both or neither; errors
are not stored (re-running them gives the same answer, and a fixed request may then succeed).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

ANONYMOUS = "anonymous"  # the one caller scope when authentication is off (ENVIRONMENT=local)
MAX_KEY_LENGTH = 255
MAX_CALLER_LENGTH = 255  # OpenID Connect caps `sub` at 255 ASCII characters


def fingerprint(method: str, path: str, body: Mapping[str, Any]) -> str:
    """SHA-256 of the method, path and validated body in canonical JSON (sorted keys, no spaces).

    The validated body, not the bytes: the same request sent with other spacing or key order is
    the same request, and one that validates differently (a name with other spaces) is too.
    """
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """An answer as it is stored and replayed: status, the headers worth keeping, the body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """One keyed request: whose key, which request it names, and two durations.

    `ttl`: how long its answer is kept; `wait`: how long a retry waits for a first request
    still in flight before its 409.
    """

    caller: str
    key: str
    fingerprint: str
    ttl: timedelta
    wait: timedelta


@dataclass(frozen=True, slots=True)
class Outcome:
    """The answer to a keyed request, and whether it is the first one's (a replay)."""

    response: StoredResponse
    replayed: bool


class IdempotencyStore(Protocol):
    """The keys of one unit of work (SQL: `idempotency.repository.IdempotencyRepository`)."""

    async def claim(self, request: IdempotentRequest, now: datetime) -> StoredResponse | None:
        """None: the key is this unit's (new or expired), answer and `complete` it.

        Otherwise the stored answer; `IdempotencyKeyReusedError` when it was for another
        request, `RequestInProgressError` when the first one holds the key past `wait`.
        """
        ...

    async def complete(self, request: IdempotentRequest, response: StoredResponse) -> None:
        """Store the answer on the key this unit claimed (committed with the effect)."""
        ...
