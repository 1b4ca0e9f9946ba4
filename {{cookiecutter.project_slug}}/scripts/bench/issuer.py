"""A local token issuer for the bench: O checks a real signed token on every item request.

Validation costs what it costs in production only if the token is a real RS256 JWT checked
against a key from the issuer's JWKS, so the bench makes an RSA key (`cryptography`), serves
the discovery document and the JWKS on loopback, and signs one access token that outlives the
run; wrk sends it as `Authorization: Bearer` to every server alike. The JWKS requests are
counted: after each server's first fetch they should stay flat (a cache hit per request).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

AUDIENCE = "https://items.example.test"  # O's OIDC_AUDIENCE in the bench
SCOPES = "items:read items:write"
TOKEN_TTL = 3600  # seconds: longer than any bench run


class _Issuer(http.server.BaseHTTPRequestHandler):
    """Discovery document and JWKS, both static; counts the JWKS requests."""

    documents: ClassVar[dict[str, bytes]] = {}
    jwks_fetches: ClassVar[int] = 0

    def do_GET(self) -> None:
        """The document at the path, or 404."""
        body = self.documents.get(self.path)
        if body is None:
            self.send_error(404)
            return
        if self.path == "/jwks":
            type(self).jwks_fetches += 1
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:  # noqa: ANN401 - the stdlib's signature
        """Silent."""


@dataclass(frozen=True)
class LocalIssuer:
    """The issuer URL O trusts and an access token it accepts for the item routes."""

    url: str
    token: str


@contextlib.contextmanager
def local_issuer() -> Iterator[LocalIssuer]:
    """Serve discovery and JWKS on a free loopback port; stopped on exit."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Issuer)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = uuid.uuid4().hex
    jwk = {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "alg": "RS256"}
    discovery = {"issuer": url, "jwks_uri": f"{url}/jwks", "token_endpoint": f"{url}/token"}
    _Issuer.documents = {
        "/.well-known/openid-configuration": json.dumps(discovery).encode(),
        "/jwks": json.dumps({"keys": [{**jwk, "use": "sig"}]}).encode(),
    }
    now = int(time.time())
    claims = {
        "iss": url,
        "aud": AUDIENCE,
        "sub": "bench",
        "client_id": "bench",
        "scope": SCOPES,
        "iat": now,
        "exp": now + TOKEN_TTL,
    }
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield LocalIssuer(url, token)
    finally:
        server.shutdown()


def jwks_fetches() -> int:
    """How many times the issuers of this process have served their JWKS."""
    return _Issuer.jwks_fetches
