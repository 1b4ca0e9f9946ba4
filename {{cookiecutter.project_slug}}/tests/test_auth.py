"""Bearer tokens against the local identity provider: every RFC 6750 error, scopes, key rotation
and a provider outage. The provider serves its discovery document and JWKS on a real port."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI
from fastapi.routing import APIRoute
from httpx import ASGITransport, AsyncClient, Response
from prometheus_client import REGISTRY
from scripts.local_idp import AUDIENCE, LocalIdentityProvider, SigningKey, local_identity_provider

from {{ cookiecutter.package_name }}.api.security import BearerToken
from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.auth.keys import KeySet
from {{ cookiecutter.package_name }}.auth.tokens import InvalidTokenError, TokenVerifier
from {{ cookiecutter.package_name }}.items.scopes import READ, SCOPES, WRITE
from {{ cookiecutter.package_name }}.observability.logging import configure_logging
from {{ cookiecutter.package_name }}.settings import Settings
from tests.clients import app_client

ROOT = Path(__file__).resolve().parent.parent
PROBES = {"/livez", "/readyz", "/startupz", "/metrics"}
DOCS = {"/docs", "/docs/oauth2-redirect"}  # the pages; /openapi.json is not an APIRoute
ITEM = {"name": "widget", "price_cents": 100}
REFRESH = 0.25  # seconds between JWKS fetches in the rotation and outage tests


def operations(app: FastAPI) -> list[tuple[str, str, str | None]]:
    """(method, path with ids filled in, required scope) of every route but probes and docs.

    HEAD twins included: they are routes of their own (api/versions.py).
    """
    found: list[tuple[str, str, str | None]] = []
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path not in PROBES | DOCS:
            scopes = [scope for dep in route.dependencies for scope in getattr(dep, "scopes", ())]
            path, scope = route.path.replace("{item_id}", "1"), scopes[0] if scopes else None
            found.extend((method, path, scope) for method in route.methods or ())
    return found


async def call(client: AsyncClient, method: str, path: str, token: str | None) -> Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    body = ITEM if method == "POST" else None
    return await client.request(method, path, json=body, headers=headers)


def challenge(response: Response) -> str:
    assert response.headers["content-type"] == "application/problem+json"
    return response.headers["www-authenticate"]


def fetches(outcome: str) -> float:
    return REGISTRY.get_sample_value("oidc_jwks_fetches_total", {"outcome": outcome}) or 0.0


def signature_checks() -> float:
    return sum(
        REGISTRY.get_sample_value("oidc_token_signature_checks_total", {"outcome": outcome}) or 0.0
        for outcome in ("ok", "expired", "immature", "invalid")
    )


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[AsyncClient]:
    """A client that sends no token of its own."""
    async with app_client(app) as http:
        yield http


def test_every_api_operation_declares_a_scope(app: FastAPI) -> None:
    """A new route without `Route.scope` would be open to anyone: this walk fails on it."""
    found = operations(app)
    # v1 and v2: list, create, read, delete, and HEAD beside each GET; v2 also update.
    assert len(found) == 13
    assert all(scope in {READ, WRITE} for _, _, scope in found), found
    assert {scope for method, _, scope in found if method in {"GET", "HEAD"}} == {READ}
    writes = {"POST", "PATCH", "DELETE"}
    assert {scope for method, _, scope in found if method in writes} == {WRITE}


async def test_the_document_names_the_scheme_and_each_operations_scope(
    client: AsyncClient, identity_provider: LocalIdentityProvider
) -> None:
    spec = (await client.get("/openapi.json")).json()
    flows = spec["components"]["securitySchemes"]["oauth2"]["flows"]
    # The lifespan read the provider's discovery document: the flows point at its endpoints.
    assert flows["clientCredentials"]["tokenUrl"] == f"{identity_provider.issuer}/token"
    assert flows["authorizationCode"]["authorizationUrl"] == f"{identity_provider.issuer}/auth"
    assert set(flows["clientCredentials"]["scopes"]) == {READ, WRITE}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if path in PROBES:
                assert "security" not in operation
                continue
            expected = READ if method == "get" else WRITE
            assert operation["security"] == [{"oauth2": [expected]}], (method, path)
            assert {"401", "403"} <= set(operation["responses"]), (method, path)


async def test_no_token_is_401_on_every_operation_without_an_error_code(
    app: FastAPI, anonymous: AsyncClient
) -> None:
    for method, path, _ in operations(app):
        response = await call(anonymous, method, path, None)
        assert response.status_code == 401, (method, path)
        # RFC 6750 section 3.1: a request with no credentials gets the challenge, no error code.
        assert challenge(response) == "Bearer"
    head = await anonymous.head("/api/v2/items")
    assert head.status_code == 401


async def test_probes_and_metrics_need_no_token(anonymous: AsyncClient) -> None:
    for path in sorted(PROBES):
        assert (await anonymous.get(path)).status_code == 200, path


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"nbf": int(time.time()) + 600}, "not valid yet"),
        ({"aud": "https://other.example.test"}, "not valid for this service"),
        ({"iss": "https://impostor.example.test"}, "not valid for this service"),
        ({"sub": None}, "not valid for this service"),
        ({"iat": "yesterday"}, "not valid for this service"),
        ({"iat": int(time.time()) + 600}, "not valid yet"),
    ],
)
async def test_claims_outside_the_rules_are_401(
    anonymous: AsyncClient,
    identity_provider: LocalIdentityProvider,
    claims: dict[str, Any],
    reason: str,
) -> None:
    token = identity_provider.token(**claims)
    if claims.get("sub", "") is None:
        token = identity_provider.token(sub="x")  # PyJWT refuses to encode a None subject
        payload = jwt.decode(token, options={"verify_signature": False})
        del payload["sub"]
        key = identity_provider.keys[0]
        token = jwt.encode(payload, key.private, "RS256", headers={"kid": key.kid})
    response = await call(anonymous, "GET", "/api/v2/items", token)
    assert response.status_code == 401
    assert 'error="invalid_token"' in challenge(response)
    assert reason in response.json()["detail"]


async def test_a_small_clock_skew_is_tolerated(
    anonymous: AsyncClient, identity_provider: LocalIdentityProvider
) -> None:
    skewed = identity_provider.token(nbf=int(time.time()) + 10, exp=int(time.time()) - 10)
    assert (await call(anonymous, "GET", "/api/v2/items", skewed)).status_code == 200


def forged(identity_provider: LocalIdentityProvider) -> dict[str, str]:
    """Tokens that are not the provider's, each the way an attacker would try it."""
    real = identity_provider.token()
    header, payload, _ = real.split(".")
    key = identity_provider.keys[0]
    public_pem = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = jwt.decode(real, options={"verify_signature": False})
    impostor = SigningKey(kid=key.kid)  # the provider's kid, another key
    return {
        "malformed": "not-a-jwt",
        "truncated": f"{header}.{payload}",
        "tampered": f"{header}.{payload}.{'A' * 342}",
        "unsigned": jwt.encode(claims, "", algorithm="none", headers={"kid": key.kid}),
        # HS256 keyed with the public key: the classic algorithm-confusion attack.
        "confused": hs256(claims, public_pem, key.kid),
        "impostor": identity_provider.token(key=impostor),
        "alg list": unsigned({"alg": ["RS256"], "kid": key.kid}, payload),
        "kid number": unsigned({"alg": "RS256", "kid": 7}, payload),
        "header array": f"{b64(b'[1, 2]')}.{payload}.{'A' * 342}",
        "header not json": f"{b64(b'{')}.{payload}.{'A' * 342}",
        "huge": "A" * 7000,
        "unknown kid": identity_provider.token(key=SigningKey()),
    }


def b64(data: bytes) -> str:
    """Base64url without padding, as JOSE writes every part."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], payload: str) -> str:
    """A token whose header says anything, with a signature of the right size."""
    return f"{b64(json.dumps(header).encode())}.{payload}.{'A' * 342}"


def hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """PyJWT refuses a PEM as an HMAC secret, so the attacker signs by hand."""
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


async def test_tokens_not_from_the_provider_are_401(
    anonymous: AsyncClient, identity_provider: LocalIdentityProvider
) -> None:
    for name, token in forged(identity_provider).items():
        response = await call(anonymous, "GET", "/api/v2/items", token)
        assert response.status_code == 401, name
        assert 'error="invalid_token"' in challenge(response), name


async def test_a_token_without_the_scope_is_403_naming_it(
    app: FastAPI, anonymous: AsyncClient, identity_provider: LocalIdentityProvider
) -> None:
    reader = identity_provider.token(scope=READ)
    nothing = identity_provider.token(scope=None)
    for method, path, scope in operations(app):
        answer = await call(anonymous, method, path, reader)
        if scope == READ:
            assert answer.status_code in {200, 404}, (method, path)
        else:
            assert answer.status_code == 403, (method, path)
            assert challenge(answer) == f'Bearer error="insufficient_scope", scope="{WRITE}"'
            assert WRITE in answer.json()["detail"]
        assert (await call(anonymous, method, path, nothing)).status_code == 403


async def test_scp_lists_grant_scopes_too(
    anonymous: AsyncClient, identity_provider: LocalIdentityProvider
) -> None:
    token = identity_provider.token(scope=None, scp=[READ, WRITE])
    assert (await call(anonymous, "POST", "/api/v2/items", token)).status_code == 201


async def test_the_caller_joins_the_access_line_and_the_token_never_does(
    anonymous: AsyncClient,
    identity_provider: LocalIdentityProvider,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")
    capsys.readouterr()
    token = identity_provider.token(sub="svc-billing", client_id="billing")
    expired = identity_provider.token(exp=int(time.time()) - 600)
    await call(anonymous, "POST", "/api/v2/items", token)
    await call(anonymous, "GET", "/api/v2/items", expired)
    out = capsys.readouterr().out
    access = [json.loads(line) for line in out.splitlines() if '"logger":"access"' in line]
    assert access[0]["enduser_id"] == "svc-billing"
    assert access[0]["client_id"] == "billing"
    assert access[1]["http_status"] == 401
    assert "enduser_id" not in access[1]
    for secret in (token, expired):
        assert secret.split(".")[2] not in out


@pytest.fixture
def own_provider() -> Iterator[LocalIdentityProvider]:
    """A provider this test may rotate or take down."""
    with local_identity_provider() as provider:
        yield provider


@pytest.fixture
async def refreshing(
    settings: Settings, own_provider: LocalIdentityProvider
) -> AsyncIterator[AsyncClient]:
    """The app on `own_provider`, refetching its keys at most every REFRESH seconds."""
    app = create_app(
        settings.model_copy(
            update={"oidc_issuer": own_provider.issuer, "oidc_jwks_refresh_seconds": REFRESH}
        )
    )
    async with app_client(app) as http:
        yield http


async def test_a_rotated_key_is_accepted_after_one_refresh(
    refreshing: AsyncClient, own_provider: LocalIdentityProvider
) -> None:
    assert own_provider.jwks_fetches == 1  # at start-up
    new = own_provider.rotate()
    await asyncio.sleep(REFRESH)
    tokens = [own_provider.token(key=new) for _ in range(20)]
    answers = await asyncio.gather(*(call(refreshing, "GET", "/api/v2/items", t) for t in tokens))
    assert {answer.status_code for answer in answers} == {200}
    assert own_provider.jwks_fetches == 2
    old = own_provider.token(key=own_provider.keys[1])  # still listed: still valid
    assert (await call(refreshing, "GET", "/api/v2/items", old)).status_code == 200


async def test_a_slow_fetch_is_not_repeated_by_the_requests_waiting_for_it(
    refreshing: AsyncClient, own_provider: LocalIdentityProvider
) -> None:
    """The JWKS takes longer than the refresh interval to arrive: the requests that waited for
    it find their key in it rather than fetching once more each."""
    new = own_provider.rotate()
    own_provider.jwks_delay = 2 * REFRESH
    await asyncio.sleep(REFRESH)
    tokens = [own_provider.token(key=new) for _ in range(10)]
    answers = await asyncio.gather(*(call(refreshing, "GET", "/api/v2/items", t) for t in tokens))
    assert {answer.status_code for answer in answers} == {200}
    assert own_provider.jwks_fetches == 2


async def test_known_keys_outlive_a_provider_outage(
    refreshing: AsyncClient, own_provider: LocalIdentityProvider
) -> None:
    known = own_provider.token()
    own_provider.down = True
    errors_before = fetches("error")
    flood_until = time.monotonic() + 4 * REFRESH
    answers = []
    impostor = SigningKey()  # one key (making one costs ~50 ms), a new kid on every token
    while time.monotonic() < flood_until:
        unknown = own_provider.token(key=SigningKey(uuid.uuid4().hex, impostor.private))
        answers.append((await call(refreshing, "GET", "/api/v2/items", unknown)).status_code)
    assert set(answers) == {401}
    attempts = fetches("error") - errors_before
    # One attempt per REFRESH interval at most, however many unknown tokens came.
    assert 1 <= attempts <= 4 + 1, (attempts, len(answers))
    assert (await call(refreshing, "GET", "/api/v2/items", known)).status_code == 200
    own_provider.down = False
    await asyncio.sleep(REFRESH)
    assert (await call(refreshing, "GET", "/api/v2/items", known)).status_code == 200


async def test_local_mode_runs_without_tokens_and_says_so(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "json")
    capsys.readouterr()
    local = {"environment": "local", "oidc_issuer": None, "oidc_audience": None}
    app = create_app(settings.model_copy(update=local))
    async with app_client(app) as http:
        assert (await http.post("/api/v2/items", json=ITEM)).status_code == 201
    warnings = [line for line in capsys.readouterr().out.splitlines() if "authentication" in line]
    assert len(warnings) == 1
    assert "authentication is off" in warnings[0]


async def test_docs_are_off_in_production_unless_enabled(settings: Settings) -> None:
    for enabled, status in ((None, 404), (True, 200)):
        app = create_app(
            settings.model_copy(update={"environment": "production", "docs_enabled": enabled})
        )
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
            assert (await http.get("/openapi.json")).status_code == status
            assert (await http.get("/docs")).status_code == status


@pytest.fixture
def make_idp() -> Iterator[dict[str, str]]:
    """`make idp` (python -m scripts.local_idp) running; what it printed (settings, a token)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "scripts.local_idp", "--port", str(port), "--scope", READ]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True) as idp:  # noqa: S603 - our own module
        assert idp.stdout is not None
        try:
            yield dict(idp.stdout.readline().strip().split("=", 1) for _ in range(3))
        finally:
            idp.terminate()
    assert idp.returncode == 0  # SIGTERM ends it cleanly


async def test_make_idp_serves_a_provider_the_service_trusts(
    settings: Settings, make_idp: dict[str, str]
) -> None:
    trusting = settings.model_copy(
        update={"oidc_issuer": make_idp["OIDC_ISSUER"], "oidc_audience": make_idp["OIDC_AUDIENCE"]}
    )
    headers = {"Authorization": f"Bearer {make_idp['TOKEN']}"}
    async with app_client(create_app(trusting), headers, base_url="http://t") as http:
        assert (await http.get("/api/v2/items")).status_code == 200
        assert (await http.post("/api/v2/items", json=ITEM)).status_code == 403


async def test_a_token_is_checked_once_then_remembered(
    client: AsyncClient, identity_provider: LocalIdentityProvider
) -> None:
    """A caller reuses its token: only its first request pays the signature check."""
    headers = {"Authorization": f"Bearer {identity_provider.token()}"}
    before = signature_checks()
    for _ in range(20):
        assert (await client.get("/api/v2/items", headers=headers)).status_code == 200
    assert signature_checks() - before == 1


async def test_a_remembered_token_still_expires_on_time(
    identity_provider: LocalIdentityProvider,
) -> None:
    now = time.time()
    token = identity_provider.token(ttl=60)
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    async with httpx.AsyncClient() as http:
        keys = KeySet(identity_provider.issuer, http, refresh_interval=30, max_age=3600)
        verifier = TokenVerifier(
            keys, audience=AUDIENCE, algorithms=["RS256"], leeway=5, clock=lambda: now
        )
        await verifier.verify(token)
        now = expires + 4.9  # within the leeway, as PyJWT counts it
        assert (await verifier.verify(token)).subject == "test-client"
        now = expires + 5
        with pytest.raises(InvalidTokenError, match="expired"):
            await verifier.verify(token)


async def test_remembered_tokens_are_checked_again_after_the_keys_change(
    refreshing: AsyncClient, own_provider: LocalIdentityProvider
) -> None:
    """The provider withdraws a key: tokens it signed stop working after the next refetch,
    even those verified (and remembered) before."""
    old = own_provider.token()
    assert (await call(refreshing, "GET", "/api/v2/items", old)).status_code == 200
    new = own_provider.rotate()
    own_provider.keys.remove(own_provider.keys[1])  # the old key is gone from the JWKS
    await asyncio.sleep(REFRESH)
    assert (
        await call(refreshing, "GET", "/api/v2/items", own_provider.token(key=new))
    ).status_code == 200
    withdrawn = await call(refreshing, "GET", "/api/v2/items", old)
    assert withdrawn.status_code == 401


async def test_the_remembered_tokens_are_bounded(identity_provider: LocalIdentityProvider) -> None:
    async with httpx.AsyncClient() as http:
        keys = KeySet(identity_provider.issuer, http, refresh_interval=30, max_age=3600)
        verifier = TokenVerifier(keys, audience=AUDIENCE, algorithms=["RS256"], leeway=0)
        verifier.remember = 3
        tokens = [identity_provider.token(sub=f"caller-{n}") for n in range(5)]
        principals = [await verifier.verify(token) for token in tokens]
    assert [p.subject for p in principals] == [f"caller-{n}" for n in range(5)]
    assert verifier.remembered == 3


def test_the_flows_follow_what_the_provider_offers() -> None:
    """No discovery document (provider down at start): the issuer's usual paths; a provider for
    machine clients only (no authorization endpoint): no authorization-code flow offered."""
    bearer = BearerToken("https://idp.example.test/", SCOPES)
    bearer.point_at({})
    flows = bearer.model.flows  # type: ignore[attr-defined]
    assert flows.clientCredentials.tokenUrl == "https://idp.example.test/token"
    assert flows.authorizationCode.authorizationUrl == "https://idp.example.test/authorize"
    bearer.point_at({"token_endpoint": "https://idp.example.test/oauth2/token"})
    flows = bearer.model.flows  # type: ignore[attr-defined]
    assert flows.clientCredentials.tokenUrl == "https://idp.example.test/oauth2/token"
    assert flows.authorizationCode is None
