"""Per-caller rate limit of the API: 429 problem+json over it, the IETF RateLimit fields always.

The caller is the token's subject when the token is valid, else the client's address (an IPv6
client by its /64, what one host is usually given). The address is the connection's peer, or,
when the peer is a trusted proxy (TRUSTED_PROXIES), the right-most address of X-Forwarded-For
that is not one: every proxy appends the address it saw, so only entries right of the first
untrusted one were written by a proxy. uvicorn applies the same rule with the same list
(`__main__.py`), so the access log names the same client.

A plain ASGI layer around the routes, not a dependency: it answers before FastAPI routes and
parses anything (a flood costs the least possible), a request with no valid token is counted
too (a dependency after `authorize` never sees it), and its headers reach every response,
whatever the endpoint returns. Only paths under /api/ count: probes, /metrics and the docs are
never limited. The token is checked here with the app's verifier, which remembers it, so
`authorize` finds it checked; an invalid one is checked again there (at most the limit's rate).

Fields of draft-ietf-httpapi-ratelimit-headers-11: `RateLimit-Policy: "default";q=100;w=1` and
`RateLimit: "default";r=42;t=1` (remaining quota, seconds to the window's end).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from {{ cookiecutter.package_name }}.api.errors import problem
from {{ cookiecutter.package_name }}.auth.tokens import TokenVerifier
from {{ cookiecutter.package_name }}.infrastructure.limiter import RateLimiter, Verdict
from {{ cookiecutter.package_name }}.resources import Resources
from {{ cookiecutter.package_name }}.settings import Settings

API_PREFIX = "/api/"
POLICY = "default"
TOO_MANY_REQUESTS = 429
Networks = Sequence[IPv4Network | IPv6Network]


def add_rate_limit(app: FastAPI, settings: Settings) -> None:
    """Limit API requests per caller when RATE_LIMIT is set; nothing is added otherwise."""
    if settings.rate_limit is not None:
        app.add_middleware(RateLimitMiddleware, trusted_proxies=settings.trusted_proxies)


class ClientAddress:
    """The client's address as the trusted proxies report it (see the module docstring)."""

    def __init__(self, trusted_proxies: Networks) -> None:
        self.trusted_proxies = tuple(trusted_proxies)
        self.trusted = lru_cache(maxsize=4096)(self._trusted)

    def _trusted(self, host: str) -> bool:
        try:
            address = ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.trusted_proxies)

    def __call__(self, scope: Scope) -> str:
        """The peer, or the right-most untrusted X-Forwarded-For entry behind trusted peers."""
        client = scope.get("client")
        peer: str = client[0] if client else ""
        if not self.trusted_proxies or not self.trusted(peer):
            return peer
        hops: list[str] = [
            hop.strip()
            for name, value in scope["headers"]
            if name == b"x-forwarded-for"
            for hop in value.decode("latin-1").split(",")
        ]
        hops = [hop for hop in hops if hop]
        for hop in reversed(hops):
            if not self.trusted(hop):
                return hop
        return hops[0] if hops else peer  # every hop a proxy: the farthest one


def address_key(address: str) -> str:
    """The counter of an address: IPv4 as is, IPv6 by its /64."""
    if ":" in address:
        try:
            return f"net:{ip_network(f'{address}/64', strict=False)}"
        except ValueError:
            pass
    return f"ip:{address}"


def bearer_token(scope: Scope) -> str | None:
    """The `Authorization: Bearer` token, read as `api.security.BearerToken` reads it."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() or None if scheme.lower() == "bearer" else None
    return None


async def token_subject(scope: Scope, verifier: TokenVerifier | None) -> str | None:
    """The subject of a valid bearer token, else None (`authorize` answers a bad token)."""
    token = bearer_token(scope)
    if token is None or verifier is None:
        return None
    try:
        principal = await verifier.verify(token)
    except Exception:  # noqa: BLE001 - whatever failed, the caller is no subject here
        return None
    return principal.subject


class RateLimitMiddleware:
    """Plain ASGI: counts each API request against its caller's limit (module docstring)."""

    def __init__(self, app: ASGIApp, trusted_proxies: Networks) -> None:
        self.app = app
        self.client_address = ClientAddress(trusted_proxies)

    async def caller(self, scope: Scope, resources: Resources) -> str:
        """`sub:<subject>` of a valid token, else the client address's key."""
        subject = await token_subject(scope, resources.verifier)
        if subject is not None:
            return f"sub:{subject}"
        return address_key(self.client_address(scope))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass other paths through; count API requests; answer 429 over the limit."""
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        resources: Resources = scope["state"]["resources"]
        limiter = resources.rate_limiter
        verdict = None
        if limiter is not None:
            verdict = await limiter.hit(await self.caller(scope, resources))
        if verdict is None:  # limiting off, or its store is down: served (availability first)
            await self.app(scope, receive, send)
            return
        assert limiter is not None  # noqa: S101 - a verdict comes from a limiter  # nosec B101
        fields = rate_limit_fields(limiter, verdict)
        if not verdict.allowed:
            await too_many_requests(scope, limiter, verdict, fields)(scope, receive, send)
            return

        async def send_with_fields(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).extend(fields)
            await send(message)

        await self.app(scope, receive, send_with_fields)


def rate_limit_fields(limiter: RateLimiter, verdict: Verdict) -> list[tuple[bytes, bytes]]:
    """`RateLimit-Policy` and `RateLimit` of one response."""
    return [
        (b"ratelimit-policy", f'"{POLICY}";q={limiter.quota};w={limiter.window}'.encode()),
        (b"ratelimit", f'"{POLICY}";r={verdict.remaining};t={verdict.reset}'.encode()),
    ]


def too_many_requests(
    scope: Scope, limiter: RateLimiter, verdict: Verdict, fields: list[tuple[bytes, bytes]]
) -> ASGIApp:
    """429 problem+json; `Retry-After` is the end of the window (the draft's effective window)."""
    headers = {name.decode(): value.decode() for name, value in fields}
    headers["Retry-After"] = str(verdict.reset)
    detail = (
        f"Over the limit of {limiter.quota} requests per {limiter.window} s; "
        f"retry after {verdict.reset} s."
    )
    return problem(Request(scope), TOO_MANY_REQUESTS, detail, headers=headers)
