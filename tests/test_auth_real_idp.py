"""The generated service trusting a real OpenID Provider (tests/oidc): scopes, rotation, outage.

Both run as real processes on loopback: `oidc-provider` on Node.js issues client-credentials
JWTs (tests/support/oidc.py), and the default project serves them with ENVIRONMENT=test, which
requires an issuer. JWKS fetches are counted twice: by the provider (requests to its jwks_uri)
and by the service (`oidc_jwks_fetches_total` on /metrics, attempts included while the
provider is down). Forged tokens are signed by a key of the test's own, under a `kid` the
provider never published.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.dast import run_dast
from tests.support.env import TEMPLATE, require
from tests.support.oidc import RESOURCE, SCOPES, OpenIDProvider, openid_provider
from tests.support.project import Installed
from tests.support.server import Server, serve
from tests.support.timing import Figure

pytestmark = pytest.mark.xdist_group("real_idp")  # one provider and one server for the module

Tool = Callable[[str], Path]
PROBLEM = "application/problem+json"
PROBES = {"/livez", "/readyz", "/startupz"}
METHODS = {"get", "post", "put", "patch", "delete"}
OTHER_AUDIENCE = "https://other.example.test"
REFUSED_WITHOUT_TOKEN = TEMPLATE / "tests" / "support" / "dast_refused.py"
FLOOD_WORKERS = 4
FETCHES = re.compile(r'^oidc_jwks_fetches_total\{outcome="(\w+)"\} (\S+)$', re.MULTILINE)


@pytest.fixture(scope="module")
def project(installed_project: Callable[[Mapping[str, object]], Installed]) -> Installed:
    """The default answers, locked and installed (shared by the run: only served here)."""
    return installed_project({})


@contextmanager
def authenticating(
    project: Installed, provider: OpenIDProvider, folder: Path, **settings: str
) -> Iterator[Server]:
    """The service on SQLite trusting `provider`; fails afterwards on any traceback it logged."""
    env = {
        **project[1],
        "ENVIRONMENT": "test",
        "OIDC_ISSUER": provider.issuer,
        "OIDC_AUDIENCE": RESOURCE,
        "DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'app.db'}",
        "REDIS_URL": "redis://127.0.0.1:1/0",  # no cache: degraded, still correct
        "BROKER_URL": "amqp://guest:guest@127.0.0.1:1/",  # the outbox only stores events
        **settings,
    }
    with serve(project[0], env, folder) as server:
        yield server
    assert "Traceback" not in server.log_text(), server.log_text()[-3000:]


@pytest.fixture(scope="module")
def server(
    project: Installed, oidc_provider: OpenIDProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One server for the tests that neither rotate nor stop the provider; no clock leeway, so
    a one-second token is refused as soon as it expires; access lines on, to read them."""
    folder = tmp_path_factory.mktemp("real-idp")
    with authenticating(
        project, oidc_provider, folder, OIDC_LEEWAY_SECONDS="0", LOG_LEVEL="INFO"
    ) as running:
        yield running


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create(server: Server, token: str, name: str | None = None) -> httpx.Response:
    body = {"name": name or f"item-{uuid.uuid4().hex[:12]}", "price_cents": 250}
    return httpx.post(f"{server.url}/api/v2/items", json=body, headers=bearer(token), timeout=10)


def challenge(response: httpx.Response) -> dict[str, str]:
    """The parameters of a `WWW-Authenticate: Bearer k="v", ...` answer (RFC 6750 section 3)."""
    header = response.headers.get("www-authenticate", "")
    assert header.startswith("Bearer"), (response.status_code, header, response.text[:300])
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


def assert_refused(response: httpx.Response, status: int, error: str | None) -> None:
    """A problem+json refusal with its RFC 6750 challenge (no error code for a missing token)."""
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"] == PROBLEM, response.headers
    assert response.json()["status"] == status
    assert challenge(response).get("error") == error, response.headers["www-authenticate"]


FORGER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def forged(issuer: str, count: int) -> list[str]:
    """Well-formed tokens for the service, each under a `kid` the provider never published."""
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": RESOURCE,
        "sub": "intruder",
        "client_id": "writer",
        "scope": SCOPES,
        "iat": now,
        "exp": now + 600,
    }
    return [
        jwt.encode(claims, FORGER, "RS256", headers={"kid": uuid.uuid4().hex, "typ": "at+jwt"})
        for _ in range(count)
    ]


def jwks_fetches(server: Server) -> dict[str, float]:
    """The service's own count of JWKS fetch attempts by outcome ("ok", "error")."""
    text = httpx.get(f"{server.url}/metrics", timeout=10).raise_for_status().text
    return {outcome: float(value) for outcome, value in FETCHES.findall(text)}


def attempts(before: Mapping[str, float], after: Mapping[str, float]) -> int:
    """Fetches attempted between two readings, whatever their outcome."""
    return round(sum(after.values()) - sum(before.values()))


def flood(server: Server, tokens: list[str], seconds: float) -> tuple[Counter[int], float]:
    """GET the item list with `tokens` in turn from a few threads for `seconds`.

    Returns the statuses and how long the flood really lasted.
    """
    deadline = time.monotonic() + seconds
    started = time.monotonic()

    def worker(offset: int) -> Counter[int]:
        seen: Counter[int] = Counter()
        with httpx.Client(base_url=server.url, timeout=10) as client:
            index = offset
            while time.monotonic() < deadline:
                token = tokens[index % len(tokens)]
                seen[client.get("/api/v2/items", headers=bearer(token)).status_code] += 1
                index += FLOOD_WORKERS
        return seen

    with ThreadPoolExecutor(FLOOD_WORKERS) as pool:
        statuses = sum(pool.map(worker, range(FLOOD_WORKERS)), Counter[int]())
    return statuses, time.monotonic() - started


# --------------------------------------------------------------------------- tokens and scopes


def test_a_token_with_items_write_creates_an_item(
    server: Server, oidc_provider: OpenIDProvider
) -> None:
    response = create(server, oidc_provider.token("writer", SCOPES))
    assert response.status_code == 201, response.text[:300]
    assert response.json()["price_cents"] == 250


def test_a_token_with_only_items_read_reads_but_cannot_write(
    server: Server, oidc_provider: OpenIDProvider
) -> None:
    token = oidc_provider.token("reader", "items:read")
    listed = httpx.get(f"{server.url}/api/v2/items", headers=bearer(token), timeout=10)
    assert listed.status_code == 200, listed.text[:300]
    refused = create(server, token)
    assert_refused(refused, 403, "insufficient_scope")
    assert challenge(refused)["scope"] == "items:write"


def test_no_token_is_401(server: Server) -> None:
    response = httpx.post(f"{server.url}/api/v2/items", json={"name": "x", "price_cents": 1})
    assert_refused(response, 401, None)


def test_a_token_for_another_audience_is_401(server: Server, oidc_provider: OpenIDProvider) -> None:
    token = oidc_provider.token("writer", SCOPES, resource=OTHER_AUDIENCE)
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == OTHER_AUDIENCE
    assert_refused(create(server, token), 401, "invalid_token")


def test_an_expired_token_is_401(server: Server, oidc_provider: OpenIDProvider) -> None:
    """The "expiring" client's tokens live one second; the server allows no leeway."""
    token = oidc_provider.token("expiring", SCOPES)
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, expires + 1.1 - time.time()))
    assert_refused(create(server, token), 401, "invalid_token")


def test_tokens_never_reach_the_log_but_the_caller_does(
    server: Server, oidc_provider: OpenIDProvider
) -> None:
    token = oidc_provider.token("writer", SCOPES)
    name = f"logged-{uuid.uuid4().hex[:12]}"
    assert create(server, token, name).status_code == 201
    refused = oidc_provider.token("writer", SCOPES, resource=OTHER_AUDIENCE)
    assert create(server, refused).status_code == 401
    log = server.log_text()
    for secret in (token, refused):
        assert secret not in log
        assert secret.split(".")[1] not in log  # nor the claims on their own
    lines = [line for line in log.splitlines() if '"POST"' in line and '"writer"' in line]
    assert lines, log[-3000:]


def operations(doc: dict[str, Any]) -> dict[tuple[str, str], list[str] | None]:
    """(METHOD, path) -> the OAuth2 scopes it declares, None for an open operation."""
    found: dict[tuple[str, str], list[str] | None] = {}
    for path, item in doc["paths"].items():
        for method, spec in item.items():
            if method in METHODS:
                security = spec.get("security") or []
                scopes = [s for requirement in security for s in requirement.get("oauth2", [])]
                found[method.upper(), path] = scopes if security else None
    return found


def test_every_protected_operation_is_enforced_as_documented(
    server: Server, oidc_provider: OpenIDProvider, figure: Figure
) -> None:
    """The document's per-operation scopes, walked with httpx: without a token every one is
    401, with a bad token 401 invalid_token, with a token lacking its scope 403, with one
    holding just that scope neither; probes and /metrics stay open."""
    doc = httpx.get(f"{server.url}/openapi.json", timeout=10).raise_for_status().json()
    declared = operations(doc)
    protected = {key: scopes for key, scopes in declared.items() if scopes is not None}
    assert {path for (_, path), scopes in declared.items() if scopes is None} == PROBES
    tokens = {scope: oidc_provider.token("writer", scope) for scope in SCOPES.split()}
    statuses: Counter[int] = Counter()
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for (method, path), scopes in sorted(protected.items()):
            assert len(scopes) == 1, (method, path, scopes)
            (scope,) = scopes
            assert scope == ("items:read" if method == "GET" else "items:write"), (method, path)
            url = re.sub(r"\{[^}]+\}", "1", path)
            assert_refused(client.request(method, url), 401, None)
            if method == "GET":  # the HEAD twin of a GET is guarded alike
                head = client.head(url)
                assert head.status_code == 401, (path, head.status_code)
            garbage = client.request(method, url, headers=bearer("not.a-jwt.at-all"))
            assert_refused(garbage, 401, "invalid_token")
            (other,) = set(tokens) - {scope}
            lacking = client.request(method, url, headers=bearer(tokens[other]))
            assert_refused(lacking, 403, "insufficient_scope")
            allowed = client.request(method, url, headers=bearer(tokens[scope]))
            assert allowed.status_code not in {401, 403, 500}, (method, path, allowed.text[:300])
            statuses[allowed.status_code] += 1
        for method, path in set(declared) - set(protected):
            assert client.request(method, path).status_code == 200, (method, path)
        assert client.get("/metrics").status_code == 200
    figure(
        f"{len(protected)} protected operations of {len(declared)} in the document, each 401 "
        f"without a token or with a bad one and 403 without its scope; with it: "
        f"{dict(sorted(statuses.items()))}; open: {sorted(PROBES)} and /metrics"
    )


# --------------------------------------------------------------------------- keys


def test_a_rotated_key_is_accepted_after_one_jwks_refresh(
    project: Installed, own_oidc_provider: OpenIDProvider, tmp_path: Path
) -> None:
    """A token under the provider's new key works without a restart, once the refresh interval
    since the last fetch has passed, and costs exactly one JWKS fetch (counted both sides)."""
    provider = own_oidc_provider
    interval = 1.0
    with authenticating(
        project, provider, tmp_path, OIDC_JWKS_REFRESH_SECONDS=str(interval)
    ) as server:
        old = provider.token("writer", SCOPES)
        assert create(server, old).status_code == 201
        before, served_before = jwks_fetches(server), provider.jwks_fetches()
        new_kid = provider.rotate()
        new = provider.token("writer", SCOPES)
        assert jwt.get_unverified_header(new)["kid"] == new_kid
        time.sleep(interval + 0.2)
        accepted = create(server, new)
        assert accepted.status_code == 201, accepted.text[:300]
        assert create(server, new).status_code == 201
        assert create(server, old).status_code == 201  # the rollover still publishes it
        after, served_after = jwks_fetches(server), provider.jwks_fetches()
    assert attempts(before, after) == 1, (before, after)
    assert after.get("ok", 0) - before.get("ok", 0) == 1, (before, after)
    assert served_after - served_before == 1


def test_while_the_provider_is_down_known_keys_work_and_refreshes_are_rate_limited(
    project: Installed, own_oidc_provider: OpenIDProvider, tmp_path: Path, figure: Figure
) -> None:
    """Provider stopped: a token under a cached key still validates; a token under an unknown
    `kid` is a 401, not a 500; a flood of them attempts at most one fetch per interval."""
    provider = own_oidc_provider
    interval, seconds = 2.0, 6.0
    with authenticating(
        project, provider, tmp_path, OIDC_JWKS_REFRESH_SECONDS=str(interval)
    ) as server:
        known = provider.token("writer", SCOPES)
        assert create(server, known).status_code == 201
        intruders = forged(provider.issuer, 64)
        provider.stop()
        assert create(server, known).status_code == 201
        assert_refused(create(server, intruders[0]), 401, "invalid_token")
        time.sleep(interval)  # the flood starts with the interval elapsed: its first fetch counts
        before = jwks_fetches(server)
        statuses, lasted = flood(server, intruders, seconds)
        after = jwks_fetches(server)
        assert create(server, known).status_code == 201
        listed = httpx.get(f"{server.url}/api/v2/items", headers=bearer(known), timeout=10)
        assert listed.status_code == 200
    tried = attempts(before, after)
    bound = math.ceil(lasted / interval) + 1
    assert set(statuses) == {401}, statuses
    assert after.get("ok", 0) == before.get("ok", 0), (before, after)
    assert 1 <= tried <= bound, (tried, bound, before, after)
    figure(
        f"provider down, {sum(statuses.values())} unknown-kid tokens in {lasted:.1f} s "
        f"({FLOOD_WORKERS} clients): all 401, {tried} JWKS fetch attempts with "
        f"OIDC_JWKS_REFRESH_SECONDS={interval:g} (at most {bound}); cached keys kept working"
    )


def test_a_10_s_unknown_kid_flood_costs_the_provider_at_most_one_fetch(
    server: Server, oidc_provider: OpenIDProvider, figure: Figure
) -> None:
    """The issue's figure, with the default refresh interval (30 s) and the provider up."""
    interval, seconds = 30.0, 10.0
    intruders = forged(oidc_provider.issuer, 64)
    before, served_before = jwks_fetches(server), oidc_provider.jwks_fetches()
    statuses, lasted = flood(server, intruders, seconds)
    after, served_after = jwks_fetches(server), oidc_provider.jwks_fetches()
    served, tried = served_after - served_before, attempts(before, after)
    assert set(statuses) == {401}, statuses
    assert served == tried <= math.ceil(lasted / interval), (served, tried, before, after)
    figure(
        f"JWKS fetches during a {lasted:.0f} s flood of {sum(statuses.values())} unknown-kid "
        f"tokens ({FLOOD_WORKERS} clients), default 30 s interval: {served} at the provider, "
        f"{tried} attempted by the service; every token 401"
    )


# --------------------------------------------------------------------------- schemathesis


def test_schemathesis_with_a_token_finds_no_5xx(
    project: Installed, tool: Tool, tmp_path: Path, figure: Figure
) -> None:
    """`make dast` with a writer token on every request: every operation, every check."""
    schemathesis = tool("dast") / "schemathesis"
    require(schemathesis.exists(), "schemathesis could not be installed")
    with (
        openid_provider(tmp_path, ttl=900) as provider,  # outlives the run (about a minute)
        authenticating(project, provider, tmp_path, LOG_LEVEL="WARNING") as server,
    ):
        token = provider.token("writer", SCOPES)
        document = httpx.get(f"{server.url}/openapi.json", timeout=10).json()
        dast = run_dast(
            project[0],
            project[1],
            schemathesis,
            server.url,
            f"DAST_REPORT_DIR={tmp_path / 'report'}",
            token=token,
            timeout=600,
        )
        log = server.log_text()
    assert token not in log
    assert token not in dast.output  # make echoes `$DAST_TOKEN`, the shell expands it
    assert "$DAST_TOKEN" in dast.output
    # The stateful phase followed the document's links (api/links.py): create -> read ->
    # update (with the ETag it read) -> delete, on real items, and every case passed.
    documented = [
        name
        for item in document["paths"].values()
        for operation in item.values()
        for response in operation["responses"].values()
        for name in response.get("links", {})
    ]
    assert dast.scenarios > 0, dast.output[-3000:]
    assert dast.links_total >= len(documented) > 0, dast.output[-3000:]
    assert dast.links_covered > 0, dast.output[-3000:]
    figure(
        f"schemathesis with a writer token: {dast.cases} cases on {dast.operations}/"
        f"{dast.operations} operations, 0 failures (no 5xx, responses as documented), "
        f"stateful phase {dast.scenarios} scenarios over {dast.links_covered}/"
        f"{dast.links_total} links, {dast.seconds:.0f} s"
    )


def test_schemathesis_without_a_token_is_refused_on_every_protected_operation(
    project: Installed,
    oidc_provider: OpenIDProvider,
    tool: Tool,
    tmp_path: Path,
    figure: Figure,
) -> None:
    """`make dast` with no token and a check of our own (tests/support/dast_refused.py): every
    request to a protected operation is a 401, each is refused at least once, and the 401s
    conform to the document like every other answer; probes answer as usual."""
    schemathesis = tool("dast") / "schemathesis"
    require(schemathesis.exists(), "schemathesis could not be installed")
    with authenticating(project, oidc_provider, tmp_path, LOG_LEVEL="WARNING") as server:
        doc = httpx.get(f"{server.url}/openapi.json", timeout=10).raise_for_status().json()
        protected = sum(1 for scopes in operations(doc).values() if scopes is not None)
        dast = run_dast(
            project[0],
            project[1],
            schemathesis,
            server.url,
            f"DAST_REPORT_DIR={tmp_path / 'report'}",
            hooks=REFUSED_WITHOUT_TOKEN,
            timeout=600,
        )
    # schemathesis's own tally agrees: the protected operations answered nothing but refusals.
    assert f"{protected} operations returned only 401/403" in dast.output, dast.output[-3000:]
    figure(
        f"schemathesis without a token: {dast.cases} cases on {dast.operations}/"
        f"{dast.operations} operations, every request to the {protected} protected ones 401 "
        f"(bodies that are not JSON aside), {dast.seconds:.0f} s"
    )
