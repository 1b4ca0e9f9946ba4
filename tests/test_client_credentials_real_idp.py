"""The generated outbound token helper (auth/client_credentials.py) against the real provider.

The helper's module is loaded from a freshly rendered project by its file path: it imports only
httpx and pydantic, both in this suite's environment, so this runs it unchanged without
installing the project. Its calls go over real sockets: to the provider's discovery document and
token endpoint (through a counting relay where a test counts), and to a called service that
records the bearer tokens it is sent.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from types import ModuleType
from typing import Any

import httpx
import jwt
import pytest

from tests.options import DEFAULTS
from tests.support.downstream import Downstream, downstream
from tests.support.oidc import RESOURCE, OpenIDProvider, secret
from tests.support.project import generate


@pytest.fixture(scope="module")
def helper(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The rendered ``client_credentials`` module, imported from its file."""
    root = generate(DEFAULTS, tmp_path_factory.mktemp("client-credentials"))
    package = root / "src" / root.name.replace("-", "_")
    path = package / "auth" / "client_credentials.py"
    spec = importlib.util.spec_from_file_location("rendered_client_credentials", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defining a class
    spec.loader.exec_module(module)
    return module


def claims(provider: OpenIDProvider, token: str, *, verify_exp: bool = True) -> dict[str, Any]:
    """The token's claims once its signature checks against the provider's published keys."""
    key = jwt.PyJWKSet.from_dict(provider.jwks())[jwt.get_unverified_header(token)["kid"]]
    decoded: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=["RS256"],
        audience=RESOURCE,
        issuer=provider.issuer,
        options={"verify_exp": verify_exp},
    )
    return decoded


async def calls(auth: Any, called: Downstream, count: int, *, together: bool = False) -> list[int]:
    """Status codes of ``count`` GETs to the called service, one after another or all at once."""
    async with httpx.AsyncClient(auth=auth, timeout=10) as client:
        if together:
            responses = await asyncio.gather(*(client.get(called.url) for _ in range(count)))
            return [response.status_code for response in responses]
        return [(await client.get(called.url)).status_code for _ in range(count)]


def test_a_discovered_provider_token_reaches_the_called_service(
    helper: ModuleType, oidc_provider: OpenIDProvider
) -> None:
    async def main(called: Downstream) -> list[int]:
        async with httpx.AsyncClient(timeout=10) as http:
            auth = await helper.ClientCredentials.from_issuer(
                oidc_provider.issuer,
                "writer",
                secret("writer"),
                http=http,
                scope="items:write",
                resource=RESOURCE,
            )
        return await calls(auth, called, 3)

    with downstream(f"{oidc_provider.issuer}/token") as called:
        assert asyncio.run(main(called)) == [200] * 3
    tokens = called.bearer_tokens()
    assert len(set(tokens)) == 1
    assert len(tokens) == 3
    assert jwt.get_unverified_header(tokens[0])["typ"] == "at+jwt"
    token = claims(oidc_provider, tokens[0])
    assert (token["aud"], token["scope"], token["client_id"]) == (RESOURCE, "items:write", "writer")


def test_fifty_concurrent_calls_ask_the_provider_for_one_token(
    helper: ModuleType, oidc_provider: OpenIDProvider
) -> None:
    with downstream(f"{oidc_provider.issuer}/token") as called:
        auth = helper.ClientCredentials(
            f"{called.url}/token", "reader", secret("reader"), scope="items:read", resource=RESOURCE
        )
        assert asyncio.run(calls(auth, called, 50, together=True)) == [200] * 50
    assert called.token_requests == 1
    assert len(called.authorizations) == 50
    assert len(set(called.bearer_tokens())) == 1
    assert claims(oidc_provider, called.bearer_tokens()[0])["scope"] == "items:read"


def test_a_one_second_token_is_replaced_once_it_runs_out(
    helper: ModuleType, oidc_provider: OpenIDProvider
) -> None:
    async def main(auth: Any, called: Downstream) -> None:
        assert await calls(auth, called, 1) == [200]
        await asyncio.sleep(1.0)  # the provider's expires_in; the helper's margin is 0.1 s of it
        assert await calls(auth, called, 1) == [200]

    with downstream(f"{oidc_provider.issuer}/token") as called:
        auth = helper.ClientCredentials(
            f"{called.url}/token", "expiring", secret("expiring"), resource=RESOURCE
        )
        asyncio.run(main(auth, called))
    first, fresh = called.bearer_tokens()
    assert called.token_requests == 2
    lifetimes = [claims(oidc_provider, token, verify_exp=False) for token in (first, fresh)]
    assert [token["exp"] - token["iat"] for token in lifetimes] == [1, 1]
    assert lifetimes[1]["iat"] > lifetimes[0]["iat"]


def test_a_401_gets_a_fresh_provider_token_and_one_retry(
    helper: ModuleType, oidc_provider: OpenIDProvider
) -> None:
    with downstream(f"{oidc_provider.issuer}/token", reject_first=1) as called:
        auth = helper.ClientCredentials(
            f"{called.url}/token", "writer", secret("writer"), scope="items:write"
        )
        assert asyncio.run(calls(auth, called, 1)) == [200]
    rejected, retried = called.bearer_tokens()
    assert called.token_requests == 2
    assert claims(oidc_provider, rejected)["jti"] != claims(oidc_provider, retried)["jti"]


def test_a_wrong_secret_raises_invalid_client_without_the_secret(
    helper: ModuleType, oidc_provider: OpenIDProvider
) -> None:
    wrong = "not-the-writer-secret-0123456789"
    with downstream(f"{oidc_provider.issuer}/token") as called:
        auth = helper.ClientCredentials(f"{oidc_provider.issuer}/token", "writer", wrong)
        with pytest.raises(helper.TokenRequestError) as raised:
            asyncio.run(calls(auth, called, 1))
    assert raised.value.error == "invalid_client"
    assert raised.value.status_code == 401
    assert wrong not in str(raised.value)
    assert "refused client 'writer': HTTP 401, invalid_client" in str(raised.value)
    assert called.authorizations == []
