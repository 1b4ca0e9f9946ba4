"""Per-caller request counts in a shared store (`limits`), failing open when the store is down.

One counter increment per request, one round trip to Redis: `limits`' fixed-window `incr` (an
INCRBY + EXPIRE script) returns the new count, which gives the remaining quota. Its rate
limiters' `hit` returns only a boolean, and `get_window_stats` costs two more round trips
(GET and TTL), so the window is computed here instead: each caller's windows follow the clock,
shifted by a stable hash of the caller so that callers do not all reset at the same instant,
and the reset comes from the clock rather than from a TTL read.

Without Redis (`memory://`) the counts are this process's own (`ProcessCounters`), not
`limits`' MemoryStorage: that one walks every live key in a task it starts per request
(measured: ~1 ms CPU per request with 10,000 callers in the window).
"""

from __future__ import annotations

import math
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.util import find_spec
from ipaddress import IPv4Network, IPv6Network
from typing import TYPE_CHECKING, Protocol

import structlog
from limits import RateLimitItem, parse_many
from limits.aio.storage import RedisStorage
from limits.errors import StorageError
from prometheus_client import Counter
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

if TYPE_CHECKING:  # the root Settings composes RateLimitSettings: a runtime import would cycle
    from {{ cookiecutter.package_name }}.settings import Settings

logger = structlog.get_logger(__name__)
MEMORY = "memory://"
REDIS_SCHEMES = ("redis", "rediss")
SOCKET_TIMEOUT = 0.1  # seconds: a slow limiter must not make every request slow
# After a store error the store is left alone this long: a store that drops packets (rather than
# refusing) would otherwise add SOCKET_TIMEOUT to every request of the outage.
RETRY_AFTER_ERROR = 1.0  # seconds
STORAGE_ERRORS = Counter(
    "rate_limit_storage_errors",
    "Requests served without a rate limit check because its store failed (fail open).",
)


class RateLimitSettings(BaseSettings):
    """RATE_LIMIT, RATE_LIMIT_STORAGE_URL, TRUSTED_PROXIES; read by the root Settings."""

    # Requests per caller in `limits` notation ("100/second", "6000/minute"); empty: no limit.
    rate_limit: str | None = None
    # Where the counts live, shared by every process: unset, the cache's REDIS_URL (without a
    # Redis cache: `memory://`, counts per process, so the limit multiplies by the processes).
    rate_limit_storage_url: SecretStr | None = None
    # How often at most a store outage is logged (it is counted on every request).
    rate_limit_log_interval_seconds: float = Field(default=60.0, gt=0)
    # Proxies (CIDRs) whose X-Forwarded-For names the client; the service trusts no other.
    trusted_proxies: list[IPv4Network | IPv6Network] = Field(default_factory=list)

    @field_validator("rate_limit")
    @classmethod
    def _one_limit(cls, value: str | None) -> str | None:
        if not value:  # RATE_LIMIT= (empty) means no limit, as in a template `.env`
            return None
        limits = parse_many(value)  # ValueError names what it could not read
        if len(limits) != 1:
            raise ValueError("RATE_LIMIT takes one limit, e.g. 100/second")
        return value

    @field_validator("rate_limit_storage_url")
    @classmethod
    def _known_store(cls, value: SecretStr | None) -> SecretStr | None:
        """Refused at start-up rather than on the first request; the message holds no URL."""
        if value is None or not value.get_secret_value():
            return None
        scheme = value.get_secret_value().partition("://")[0]
        if scheme == MEMORY.removesuffix("://"):
            return value
        if scheme not in REDIS_SCHEMES:
            raise ValueError(
                "RATE_LIMIT_STORAGE_URL must be a redis://, rediss:// or memory:// one"
            )
        if find_spec("redis") is None:
            raise ValueError(
                "RATE_LIMIT_STORAGE_URL=redis://... needs the redis package "
                "(a service generated with cache=redis has it)"
            )
        return value


class Counters(Protocol):
    """What the limiter needs of a store: `limits`' `incr` (add, expire a new key, new count)."""

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to `key` (created to expire after `expiry` s); the new count."""
        ...


class ProcessCounters:
    """Counts kept by this process, each forgotten `expiry` seconds after its first hit.

    One limit means one expiry for every key, so keys expire in the order they were created:
    a queue, popped as they fall due, keeps the cost per request constant.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.counts: dict[str, int] = {}
        self.due: deque[tuple[float, str]] = deque()

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to `key`; the new count."""
        now = self.clock()
        while self.due and self.due[0][0] <= now:
            self.counts.pop(self.due.popleft()[1], None)
        count = self.counts.get(key, 0) + amount
        self.counts[key] = count
        if count == amount:
            self.due.append((now + expiry, key))
        return count


@dataclass(frozen=True, slots=True)
class Verdict:
    """One request's count against its caller's limit."""

    allowed: bool
    remaining: int  # requests left in the window
    reset: int  # seconds until the window ends (at least 1)


class RateLimiter:
    """Counts each caller's requests in fixed windows of the limit's length."""

    def __init__(
        self,
        storage: Counters,
        limit: RateLimitItem,
        log_interval: float,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.storage = storage
        self.limit = limit
        self.quota = limit.amount
        self.window = limit.get_expiry()  # seconds
        self.log_interval = log_interval
        self.clock = clock
        self.monotonic = monotonic
        self._quiet_until = -math.inf  # before then, outages are not logged
        self._skip_until = -math.inf  # before then, the store is not asked (it just failed)

    async def hit(self, caller: str) -> Verdict | None:
        """Count one request of `caller`; None when the store failed (the request is served)."""
        shifted = self.clock() + zlib.crc32(caller.encode()) % self.window
        window, elapsed = divmod(shifted, self.window)
        key = self.limit.key_for(caller, str(int(window)))
        if self.monotonic() < self._skip_until:
            STORAGE_ERRORS.inc()
            return None
        try:
            count = await self.storage.incr(key, self.window)
        except (StorageError, OSError) as exc:
            self._storage_failed(exc)
            return None
        return Verdict(
            allowed=count <= self.quota,
            remaining=max(0, self.quota - count),
            reset=max(1, math.ceil(self.window - elapsed)),
        )

    def _storage_failed(self, exc: Exception) -> None:
        STORAGE_ERRORS.inc()
        now = self.monotonic()
        self._skip_until = now + RETRY_AFTER_ERROR
        if now >= self._quiet_until:
            self._quiet_until = now + self.log_interval
            logger.warning(
                "rate limit store unavailable, serving requests unlimited",
                error=str(getattr(exc, "storage_error", exc)),
                quiet_seconds=self.log_interval,
            )


def storage_url(settings: Settings) -> str:
    """RATE_LIMIT_STORAGE_URL, else the cache's Redis, else per-process memory."""
    if settings.rate_limit_storage_url is not None:
        return settings.rate_limit_storage_url.get_secret_value()
    redis_url: SecretStr | None = getattr(settings, "redis_url", None)  # cache=redis only
    return redis_url.get_secret_value() if redis_url is not None else MEMORY


def open_storage(url: str, prefix: str) -> Counters:
    """`limits`' store for a redis:// or rediss:// URL; this process's counts for memory://."""
    if url.startswith(MEMORY):
        return ProcessCounters()
    return RedisStorage(
        f"async+{url}",
        implementation="redispy",  # the cache's client; `limits` would bring coredis otherwise
        key_prefix=prefix,
        wrap_exceptions=True,  # StorageError whatever the store
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=SOCKET_TIMEOUT,
    )


@asynccontextmanager
async def open_rate_limiter(settings: Settings) -> AsyncIterator[RateLimiter | None]:
    """The process's limiter (None without RATE_LIMIT), its connections closed at shutdown."""
    if settings.rate_limit is None:
        yield None
        return
    (limit,) = parse_many(settings.rate_limit)
    storage = open_storage(storage_url(settings), f"{settings.service_name}:rate-limit")
    try:
        yield RateLimiter(storage, limit, settings.rate_limit_log_interval_seconds)
    finally:
        client = getattr(getattr(storage, "bridge", None), "storage", None)  # redis-py's
        if client is not None:
            await client.aclose()
