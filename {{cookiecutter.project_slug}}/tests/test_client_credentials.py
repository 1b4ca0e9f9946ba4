"""The outbound token helper against a token endpoint and a protected service served in-process.

One small ASGI app plays both: an OAuth 2.0 token endpoint that checks the client's Basic
credentials as RFC 6749 encodes them and counts every token it issues, and a service that
accepts only tokens the endpoint issued and has not revoked. The helper reaches both through
the same ``httpx.AsyncClient`` a service would use (``ASGITransport``, no network).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import socket
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from {{ cookiecutter.package_name }}.auth.client_credentials import (
    ClientCredentials,
    TokenRequestError,
)

ISSUER = "http://idp.test"
TOKEN_URL = f"{ISSUER}/token"
CLIENT_ID = "orders service"
# Every character RFC 6749 form-encodes before Basic-encoding, which a careless client skips.
SECRET = "s3cr:t+/%&é="  # noqa: S105 - a test client's
RESOURCE = "https://items.example.test"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class World:
    """The token endpoint and the called service, recording what each was sent."""

    def __init__(self) -> None:
        self.expires_in: object = 300
        self.refusal: Response | None = None
        self.token_delay = 0.0
        self.service_delay = 0.0
        self.forms: list[dict[str, str]] = []
        self.credentials: list[tuple[str, str]] = []
        self.valid: set[str] = set()
        self.trusting = True
        self.seen: list[tuple[str, bytes]] = []  # (Authorization, body) at the called service
        self._numbers = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/token", self.token, methods=["POST"]),
                Route("/items", self.items, methods=["GET", "POST"]),
            ]
        )

    async def discovery(self, _: Request) -> Response:
        return JSONResponse({"issuer": ISSUER, "token_endpoint": TOKEN_URL})

    async def token(self, request: Request) -> Response:
        await asyncio.sleep(self.token_delay)
        scheme, _, encoded = request.headers["authorization"].partition(" ")
        client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        assert scheme == "Basic"
        self.credentials.append((unquote_plus(client_id), unquote_plus(secret)))
        self.forms.append(dict(parse_qsl((await request.body()).decode())))
        if self.refusal is not None:
            return self.refusal
        token = f"token-{next(self._numbers)}"
        self.valid.add(token)
        answer: dict[str, Any] = {"access_token": token, "token_type": "Bearer"}
        if self.expires_in is not None:
            answer["expires_in"] = self.expires_in
        return JSONResponse(answer)

    async def items(self, request: Request) -> Response:
        await asyncio.sleep(self.service_delay)
        authorization = request.headers.get("authorization", "")
        self.seen.append((authorization, await request.body()))
        if not self.trusting or authorization.removeprefix("Bearer ") not in self.valid:
            return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return Response(status_code=200)

    def tokens_seen(self) -> list[str]:
        return [authorization.removeprefix("Bearer ") for authorization, _ in self.seen]


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(world: World, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    auth = ClientCredentials(
        TOKEN_URL,
        CLIENT_ID,
        SecretStr(SECRET),
        scope="items:read items:write",
        resource=RESOURCE,
        clock=clock,
    )
    transport = httpx.ASGITransport(app=world.app)
    async with httpx.AsyncClient(transport=transport, base_url=RESOURCE, auth=auth) as client:
        yield client


async def test_token_request_is_a_client_credentials_grant_with_basic_auth(
    world: World, client: httpx.AsyncClient
) -> None:
    assert (await client.get("/items")).status_code == 200
    assert world.credentials == [(CLIENT_ID, SECRET)]
    assert world.forms == [
        {
            "grant_type": "client_credentials",
            "scope": "items:read items:write",
            "resource": RESOURCE,
        }
    ]
    assert world.tokens_seen() == ["token-1"]


async def test_one_token_serves_many_calls(world: World, client: httpx.AsyncClient) -> None:
    for _ in range(10):
        assert (await client.get("/items")).status_code == 200
    assert len(world.forms) == 1
    assert world.tokens_seen() == ["token-1"] * 10


@pytest.mark.parametrize(
    ("expires_in", "refreshed_after"),
    [(3600, 3570.0), (100, 90.0), ("60", 54.0)],  # 30 s margin, or a tenth of a short life
)
async def test_token_is_refreshed_before_it_expires(
    world: World,
    client: httpx.AsyncClient,
    clock: Clock,
    expires_in: object,
    refreshed_after: float,
) -> None:
    world.expires_in = expires_in
    start = clock.now
    await client.get("/items")
    clock.now = start + refreshed_after - 0.001
    await client.get("/items")
    clock.now = start + refreshed_after
    await client.get("/items")
    assert world.tokens_seen() == ["token-1", "token-1", "token-2"]


@pytest.mark.parametrize("expires_in", [None, "soon", -1])
async def test_without_a_lifetime_the_token_is_kept_until_a_401(
    world: World, client: httpx.AsyncClient, clock: Clock, expires_in: object
) -> None:
    world.expires_in = expires_in
    await client.get("/items")
    clock.now += 10 * 365 * 86400
    await client.get("/items")
    world.valid.clear()
    assert (await client.get("/items")).status_code == 200
    assert world.tokens_seen() == ["token-1", "token-1", "token-1", "token-2"]


async def test_fifty_concurrent_first_calls_fetch_one_token(
    world: World, client: httpx.AsyncClient
) -> None:
    world.token_delay = 0.05  # every call is waiting before the first token arrives
    responses = await asyncio.gather(*(client.get("/items") for _ in range(50)))
    assert [response.status_code for response in responses] == [200] * 50
    assert len(world.forms) == 1
    assert world.tokens_seen() == ["token-1"] * 50


async def test_a_401_fetches_a_fresh_token_and_resends_the_request_once(
    world: World, client: httpx.AsyncClient
) -> None:
    await client.get("/items")
    world.valid.clear()  # the provider revoked token-1, or the service stopped trusting it
    response = await client.post("/items", json={"name": "x"})
    assert response.status_code == 200
    assert len(world.forms) == 2
    assert world.seen[1:] == [
        ("Bearer token-1", b'{"name":"x"}'),
        ("Bearer token-2", b'{"name":"x"}'),
    ]


async def test_a_second_401_is_the_answer(world: World, client: httpx.AsyncClient) -> None:
    world.trusting = False
    response = await client.get("/items")
    assert response.status_code == 401
    assert world.tokens_seen() == ["token-1", "token-2"]


async def test_concurrent_401s_share_one_fresh_token(
    world: World, client: httpx.AsyncClient
) -> None:
    await client.get("/items")
    world.valid.clear()
    world.service_delay = 0.02  # all twenty are sent with token-1 before the first 401 returns
    world.token_delay = 0.05
    responses = await asyncio.gather(*(client.get("/items") for _ in range(20)))
    assert [response.status_code for response in responses] == [200] * 20
    assert len(world.forms) == 2
    assert world.tokens_seen()[1:] == ["token-1"] * 20 + ["token-2"] * 20


async def test_a_refusal_raises_with_the_error_code_but_not_the_secret(
    world: World, client: httpx.AsyncClient
) -> None:
    world.refusal = JSONResponse(
        {"error": "invalid_client", "error_description": f"no client with secret {SECRET}"},
        status_code=401,
    )
    with pytest.raises(TokenRequestError) as raised:
        await client.get("/items")
    message = str(raised.value)
    assert f"{TOKEN_URL} refused client '{CLIENT_ID}': HTTP 401, invalid_client" in message
    assert SECRET not in message
    assert (raised.value.status_code, raised.value.error) == (401, "invalid_client")
    assert isinstance(raised.value, httpx.HTTPError)
    assert raised.value.request.url == TOKEN_URL
    assert world.seen == []  # nothing was sent without a token


async def test_an_unreachable_token_endpoint_raises_httpx_own_error() -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        token_url = f"http://127.0.0.1:{probe.getsockname()[1]}/token"
    auth = ClientCredentials(token_url, CLIENT_ID, SECRET)
    async with httpx.AsyncClient(auth=auth, timeout=2) as client, asyncio.timeout(10):
        for _ in range(2):  # the second call would hang if the failed fetch kept the lock
            with pytest.raises(httpx.ConnectError) as raised:
                await client.get(f"{RESOURCE}/items")
            assert raised.value.request.url == token_url


@pytest.mark.parametrize(
    "answer",
    [
        Response("<html>Bad Gateway</html>", status_code=502, media_type="text/html"),
        JSONResponse({"token_type": "Bearer"}),
        JSONResponse({"access_token": "abc", "token_type": "DPoP"}),
        JSONResponse(["access_token"]),
        Response("access_token=abc", media_type="application/x-www-form-urlencoded"),
    ],
    ids=["html-502", "no-token", "not-bearer", "json-list", "not-json"],
)
async def test_an_answer_without_a_bearer_token_raises(
    world: World, client: httpx.AsyncClient, answer: Response
) -> None:
    world.refusal = answer
    with pytest.raises(TokenRequestError, match=f"token endpoint {TOKEN_URL}"):
        await client.get("/items")
    assert world.seen == []


async def test_from_issuer_reads_the_token_endpoint(world: World) -> None:
    transport = httpx.ASGITransport(app=world.app)
    async with httpx.AsyncClient(transport=transport, base_url=RESOURCE) as client:
        client.auth = await ClientCredentials.from_issuer(
            ISSUER, CLIENT_ID, SECRET, http=client, scope="items:read"
        )
        assert (await client.get("/items")).status_code == 200
    assert world.forms == [{"grant_type": "client_credentials", "scope": "items:read"}]
    assert world.credentials == [(CLIENT_ID, SECRET)]


@pytest.mark.parametrize(
    ("issuer", "problem"),
    [
        ("http://idp.test/realms/other", "HTTP 404"),
        (f"{ISSUER}/", "it names issuer 'http://idp.test'"),
    ],
)
async def test_from_issuer_refuses_a_document_for_another_issuer(
    world: World, issuer: str, problem: str
) -> None:
    transport = httpx.ASGITransport(app=world.app)
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(TokenRequestError, match=problem):
            await ClientCredentials.from_issuer(issuer, CLIENT_ID, SECRET, http=client)


async def test_a_discovery_document_without_a_token_endpoint_is_refused() -> None:
    app = Starlette(
        routes=[
            Route(
                "/.well-known/openid-configuration",
                lambda _: JSONResponse({"issuer": ISSUER}),
            )
        ]
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        with pytest.raises(TokenRequestError, match="names no token_endpoint"):
            await ClientCredentials.from_issuer(ISSUER, CLIENT_ID, SECRET, http=client)


def test_a_synchronous_client_is_refused_before_anything_is_sent() -> None:
    auth = ClientCredentials(TOKEN_URL, CLIENT_ID, SECRET)
    with httpx.Client(auth=auth) as client, pytest.raises(TypeError, match="AsyncClient"):
        client.get("http://127.0.0.1:9/items")
