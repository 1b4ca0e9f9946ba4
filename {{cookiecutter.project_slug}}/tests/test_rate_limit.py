"""Rate limit per caller (api/rate_limit.py): on Redis with TEST_REDIS_URL, else in memory.

Limits are per hour, so no window ends while a test runs; each test counts under a service
name of its own, so its counters start at zero on a shared Redis.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import AsyncIterator
from ipaddress import ip_network

import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response
from limits import parse
from pydantic import SecretStr, ValidationError
from scripts.local_idp import LocalIdentityProvider

from {{ cookiecutter.package_name }}.__main__ import server_options
from {{ cookiecutter.package_name }}.api.rate_limit import ClientAddress, address_key
from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.infrastructure import limiter
from {{ cookiecutter.package_name }}.infrastructure.limiter import ProcessCounters, RateLimiter
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.startup import describe
from tests.clients import app_client

STORE = os.environ.get("TEST_REDIS_URL", "memory://")
ITEMS = "/api/v2/items"
PROBLEM = "application/problem+json"
FIELD = re.compile(r'^"default";r=(\d+);t=(\d+)$')


def limited(settings: Settings, limit: str = "3/hour", **update: object) -> FastAPI:
    """The app with `limit` per caller, counting apart from every other test."""
    return create_app(
        settings.model_copy(
            update={
                "rate_limit": limit,
                "rate_limit_storage_url": SecretStr(STORE),
                "service_name": f"rate-limit-test-{secrets.token_hex(4)}",
                **update,
            }
        )
    )


@pytest.fixture
async def anonymous(settings: Settings) -> AsyncIterator[AsyncClient]:
    """A client of a limited app that sends no token (counted by its address)."""
    async with app_client(limited(settings)) as http:
        yield http


def remaining(response: Response) -> int:
    match = FIELD.match(response.headers["ratelimit"])
    assert match, response.headers["ratelimit"]
    return int(match[1])


async def test_over_the_limit_gets_429_problem_with_the_ratelimit_fields(
    settings: Settings, bearer: dict[str, str]
) -> None:
    async with app_client(limited(settings), bearer) as client:
        served = [await client.get(ITEMS) for _ in range(3)]
        refused = await client.get(ITEMS)
    assert [r.status_code for r in served] == [200, 200, 200]
    assert [remaining(r) for r in served] == [2, 1, 0]
    assert served[0].headers["ratelimit-policy"] == '"default";q=3;w=3600'
    assert refused.status_code == 429
    assert refused.headers["content-type"] == PROBLEM
    body = refused.json()
    assert (body["status"], body["title"], body["instance"]) == (429, "Too Many Requests", ITEMS)
    match = FIELD.match(refused.headers["ratelimit"])
    assert match, refused.headers
    assert match[1] == "0"
    assert 1 <= int(match[2]) <= 3600
    assert refused.headers["retry-after"] == match[2]
    assert refused.headers["ratelimit-policy"] == '"default";q=3;w=3600'


async def test_v1_429_keeps_the_deprecation_notice(
    settings: Settings, bearer: dict[str, str]
) -> None:
    async with app_client(limited(settings, "1/hour"), bearer) as client:
        await client.get("/api/v1/items")
        refused = await client.get("/api/v1/items")
    assert refused.status_code == 429
    assert "deprecation" in refused.headers
    assert "sunset" in refused.headers


async def test_each_subject_has_its_own_limit(
    settings: Settings, identity_provider: LocalIdentityProvider
) -> None:
    first = {"Authorization": f"Bearer {identity_provider.token(sub='svc-a')}"}
    second = {"Authorization": f"Bearer {identity_provider.token(sub='svc-b')}"}
    async with app_client(limited(settings, "2/hour")) as client:
        a = [(await client.get(ITEMS, headers=first)).status_code for _ in range(3)]
        b = [(await client.get(ITEMS, headers=second)).status_code for _ in range(2)]
    assert a == [200, 200, 429]
    assert b == [200, 200]


async def test_each_address_behind_a_trusted_proxy_has_its_own_limit(
    settings: Settings,
) -> None:
    """No token: counted by address (and answered 401 while under the limit)."""
    app = limited(settings, "2/hour", trusted_proxies=[ip_network("127.0.0.0/8")])
    first = {"X-Forwarded-For": "198.51.100.7, 127.0.0.2"}
    second = {"X-Forwarded-For": "198.51.100.8"}
    async with app_client(app) as client:
        a = [(await client.get(ITEMS, headers=first)).status_code for _ in range(3)]
        b = [(await client.get(ITEMS, headers=second)).status_code for _ in range(2)]
        forged = await client.get(ITEMS, headers={"X-Forwarded-For": "203.0.113.9, 198.51.100.7"})
    assert a == [401, 401, 429]
    assert b == [401, 401]
    assert forged.status_code == 429, "entries left of the proxy's are the client's own: ignored"


async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(
    anonymous: AsyncClient,
) -> None:
    statuses = [
        (await anonymous.get(ITEMS, headers={"X-Forwarded-For": f"198.51.100.{n}"})).status_code
        for n in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


async def test_an_invalid_token_is_counted_by_address(
    anonymous: AsyncClient, identity_provider: LocalIdentityProvider
) -> None:
    expired = {"Authorization": f"Bearer {identity_provider.token(exp=1)}"}
    statuses = [(await anonymous.get(ITEMS, headers=expired)).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    assert (await anonymous.get(ITEMS)).status_code == 429


async def test_probes_metrics_and_docs_are_never_limited(settings: Settings) -> None:
    async with app_client(limited(settings, "1/hour")) as client:
        for path in ("/livez", "/readyz", "/startupz", "/metrics", "/docs", "/openapi.json"):
            for _ in range(3):
                response = await client.get(path)
                assert response.status_code != 429, path
                assert "ratelimit" not in response.headers, path


def test_the_client_is_the_right_most_address_no_trusted_proxy_wrote() -> None:
    address = ClientAddress([ip_network("10.0.0.0/8"), ip_network("127.0.0.1/32")])

    def client(peer: str, forwarded: str | None = None) -> str:
        headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
        return address({"client": (peer, 1), "headers": headers})

    assert client("10.1.2.3", "203.0.113.1, 198.51.100.2, 10.9.9.9") == "198.51.100.2"
    assert client("10.1.2.3", "10.0.0.5, 10.0.0.6") == "10.0.0.5"  # every hop a proxy
    assert client("10.1.2.3") == "10.1.2.3"
    assert client("192.0.2.1", "203.0.113.1") == "192.0.2.1"  # untrusted peer: header ignored
    assert address_key("2001:db8:1:2:3:4:5:6") == "net:2001:db8:1:2::/64"
    assert address_key("192.0.2.1") == "ip:192.0.2.1"


async def test_process_counters_forget_a_key_when_its_window_is_over() -> None:
    """memory:// (no Redis): counts per key, each gone `expiry` seconds after its first hit."""
    now = [100.0]
    counters = ProcessCounters(clock=lambda: now[0])
    assert [await counters.incr("a", 10) for _ in range(3)] == [1, 2, 3]
    now[0] = 105.0
    assert await counters.incr("b", 10) == 1
    now[0] = 110.0
    assert await counters.incr("a", 10) == 1, "a's window ended at 110"
    assert await counters.incr("b", 10) == 2
    assert len(counters.counts) == len(counters.due) == 2


class DownStore:
    """A store whose every call fails, as redis-py's do while Redis is unreachable."""

    def __init__(self) -> None:
        self.calls = 0

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:  # noqa: ARG002 - protocol
        self.calls += 1
        raise ConnectionRefusedError(key)


async def test_a_failed_store_is_left_alone_for_a_second() -> None:
    """A store that times out would otherwise cost every request of the outage its timeout."""
    now = [0.0]
    store = DownStore()
    limiter = RateLimiter(store, parse("1/second"), log_interval=60, monotonic=lambda: now[0])
    assert [await limiter.hit("ip:a") for _ in range(3)] == [None, None, None]
    assert store.calls == 1
    now[0] = 1.0
    assert await limiter.hit("ip:a") is None
    assert store.calls == 2


def test_uvicorn_trusts_the_same_proxies_and_no_other() -> None:
    """uvicorn reads X-Forwarded-For from TRUSTED_PROXIES only (by default: from nobody)."""
    trusting = Settings(_env_file=None, trusted_proxies=["10.0.0.0/8"])
    assert server_options(trusting)["forwarded_allow_ips"] == ["10.0.0.0/8"]
    assert server_options(Settings(_env_file=None))["forwarded_allow_ips"] == []


@pytest.mark.parametrize(("value", "parsed"), [("", None), ("100/second", "100/second")])
def test_rate_limit_setting_accepts_one_limit_or_none(value: str, parsed: str | None) -> None:
    assert Settings(_env_file=None, rate_limit=value).rate_limit == parsed


@pytest.mark.parametrize("value", ["a lot", "10/second;100/minute"])
def test_rate_limit_setting_rejects_what_it_cannot_apply(value: str) -> None:
    with pytest.raises(ValidationError, match="rate_limit"):
        Settings(_env_file=None, rate_limit=value)


def test_a_store_url_is_refused_at_start_up_without_its_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValidationError, match="a redis://, rediss:// or memory:// one"):
        Settings(_env_file=None, rate_limit_storage_url="memcached://127.0.0.1:11211")
    monkeypatch.setattr(limiter, "find_spec", lambda _name: None)  # cache=none: no redis
    with pytest.raises(ValidationError, match="needs the redis package") as refused:
        Settings(_env_file=None, rate_limit_storage_url="redis://:secret@127.0.0.1:6379/0")
    said = " ".join(describe(error) for error in refused.value.errors())  # the start-up line
    assert "needs the redis package" in said
    assert "secret" not in said
