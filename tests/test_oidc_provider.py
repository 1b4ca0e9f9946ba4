"""The real OpenID Provider the authentication tests trust (tests/oidc, tests/support/oidc.py).

These prove the harness itself: what its tokens look like, that they verify against the
published keys, and that rotation and an outage behave as the service tests assume.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import pytest

from tests.support.env import port_open
from tests.support.oidc import OTHER_RESOURCE, RESOURCE, OpenIDProvider, openid_provider


def verified(
    provider: OpenIDProvider, token: str, audience: str = RESOURCE, alg: str = "RS256"
) -> dict[str, Any]:
    """The claims of ``token`` once its signature checks against the provider's JWKS now."""
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWKSet.from_dict(provider.jwks())[kid]
    claims: dict[str, Any] = jwt.decode(
        token, key, algorithms=[alg], audience=audience, issuer=provider.issuer
    )
    return claims


def test_discovery_names_the_token_endpoint_and_keys(oidc_provider: OpenIDProvider) -> None:
    document = oidc_provider.discovery()
    assert document["issuer"] == oidc_provider.issuer
    assert document["token_endpoint"] == f"{oidc_provider.issuer}/token"
    assert document["jwks_uri"].startswith(oidc_provider.issuer)
    assert "client_credentials" in document["grant_types_supported"]


def test_writer_token_is_a_signed_jwt_for_the_resource(oidc_provider: OpenIDProvider) -> None:
    token = oidc_provider.token("writer", "items:write")
    header = jwt.get_unverified_header(token)
    claims = verified(oidc_provider, token)
    assert (header["alg"], header["typ"]) == ("RS256", "at+jwt")
    assert claims["aud"] == RESOURCE
    assert claims["iss"] == oidc_provider.issuer
    assert claims["scope"].split() == ["items:write"]
    assert claims["client_id"] == claims["sub"] == "writer"
    assert claims["exp"] - claims["iat"] == 300


def test_reader_asking_for_write_is_refused(oidc_provider: OpenIDProvider) -> None:
    response = oidc_provider.token_response("reader", "items:read items:write")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    read = verified(oidc_provider, oidc_provider.token("reader", "items:read"))
    assert read["scope"] == "items:read"


def test_audience_is_the_requested_resource(oidc_provider: OpenIDProvider) -> None:
    other = oidc_provider.token("writer", "items:write", resource=OTHER_RESOURCE)
    assert verified(oidc_provider, other, audience=OTHER_RESOURCE)["aud"] == OTHER_RESOURCE
    unknown = oidc_provider.token_response("writer", "items:write", "https://unknown.test")
    assert unknown.json()["error"] == "invalid_target"
    default = oidc_provider.token_response("writer", "items:write", resource=None)
    assert verified(oidc_provider, default.json()["access_token"])["aud"] == RESOURCE


def test_expiring_client_gets_one_second_tokens(oidc_provider: OpenIDProvider) -> None:
    claims = jwt.decode(
        oidc_provider.token("expiring", "items:write"), options={"verify_signature": False}
    )
    assert claims["exp"] - claims["iat"] == 1


def test_rotation_signs_with_a_new_published_key(own_oidc_provider: OpenIDProvider) -> None:
    before = own_oidc_provider.token("writer", "items:write")
    old_kid = jwt.get_unverified_header(before)["kid"]
    new_kid = own_oidc_provider.rotate()
    after = own_oidc_provider.token("writer", "items:write")
    assert jwt.get_unverified_header(after)["kid"] == new_kid != old_kid
    assert [key["kid"] for key in own_oidc_provider.jwks()["keys"]] == [new_kid, old_kid]
    assert verified(own_oidc_provider, after)["scope"] == "items:write"
    assert verified(own_oidc_provider, before)["scope"] == "items:write"  # rollover keeps the old
    newest = own_oidc_provider.rotate(retire=True)
    assert [key["kid"] for key in own_oidc_provider.jwks()["keys"]] == [newest]


def test_stopped_provider_refuses_connections(own_oidc_provider: OpenIDProvider) -> None:
    own_oidc_provider.stop()
    port = urlsplit(own_oidc_provider.issuer).port
    assert port is not None
    assert not port_open("127.0.0.1", port)
    with pytest.raises(httpx.ConnectError):
        own_oidc_provider.discovery()


def test_elliptic_curve_keys_sign_es256(tmp_path: Path) -> None:
    with openid_provider(tmp_path, alg="ES256") as provider:
        token = provider.token("writer", "items:read")
        assert jwt.get_unverified_header(token)["alg"] == "ES256"
        assert verified(provider, token, alg="ES256")["scope"] == "items:read"


def test_requests_are_counted_per_path(own_oidc_provider: OpenIDProvider) -> None:
    """What the service tests count JWKS fetches with; the provider's test routes are not."""
    assert own_oidc_provider.jwks_fetches() == 0
    own_oidc_provider.jwks()
    own_oidc_provider.jwks()
    assert own_oidc_provider.jwks_fetches() == 2
    counts = own_oidc_provider.requests()
    assert counts["/.well-known/openid-configuration"] >= 3, counts
    assert not any(path.startswith("/-/") for path in counts), counts
