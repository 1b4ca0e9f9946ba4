"""A local identity provider: a signing key, its discovery document and JWKS on a real port.

The service fetches `/.well-known/openid-configuration` and the JWKS over HTTP as it would from
the company's provider, so the tests (`make test`), the bench (`make bench`) and a service run
with authentication on (`make idp`, then ENVIRONMENT=test) need nothing external. It mints
tokens itself (it has no token endpoint), counts the JWKS fetches, can rotate its key, go down
and come back. For development and tests only: anyone can ask it for a token.

    python -m scripts.local_idp --port 9400   # prints OIDC_ISSUER, OIDC_AUDIENCE, a token
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

AUDIENCE = "https://items.example.test"
ALL_SCOPES = "items:read items:write"


@dataclass
class SigningKey:
    """An RSA key and the `kid` tokens name it by."""

    kid: str = field(default_factory=lambda: uuid.uuid4().hex)
    private: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def jwk(self) -> dict[str, Any]:
        """The public half, as the JWKS lists it."""
        public: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}


class LocalIdentityProvider:
    """Discovery and JWKS on 127.0.0.1, and tokens signed with its current key."""

    def __init__(self, port: int = 0) -> None:
        self.keys = [SigningKey()]
        self.jwks_fetches = 0
        self.down = False  # answer nothing but 503, as a provider in an outage
        self.jwks_delay = 0.0  # seconds before the JWKS is answered, as a slow provider
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        # Polled every 50 ms, not 0.5 s: each test's provider stops in that time.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                document = provider.document(self.path)
                body = json.dumps(document).encode() if document is not None else b"{}"
                status = 200 if document is not None else 503 if provider.down else 404
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                """Quiet: pytest shows the tests' output, not the provider's."""

        return Handler

    def document(self, path: str) -> dict[str, Any] | None:
        """What a path answers, or None (404; 503 for everything while down)."""
        if self.down:
            return None
        if path == "/.well-known/openid-configuration":
            return {
                "issuer": self.issuer,
                "jwks_uri": f"{self.issuer}/jwks",
                "token_endpoint": f"{self.issuer}/token",
                "authorization_endpoint": f"{self.issuer}/auth",
            }
        if path == "/jwks":
            time.sleep(self.jwks_delay)  # the server's own thread: the caller waits
            self.jwks_fetches += 1
            return {"keys": [key.jwk() for key in self.keys]}
        return None

    def token(
        self,
        scope: str | None = ALL_SCOPES,
        *,
        key: SigningKey | None = None,
        ttl: float = 3600,
        **claims: Any,  # noqa: ANN401 - any claim, to override or forge
    ) -> str:
        """An access token as the provider issues it (RFC 9068), with `claims` overriding."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": "test-client",
            "client_id": "test-client",
            "iat": now,
            "exp": now + int(ttl),
            "jti": uuid.uuid4().hex,
        }
        if scope is not None:
            payload["scope"] = scope
        payload.update(claims)
        signer = key or self.keys[0]
        headers = {"kid": signer.kid, "typ": "at+jwt"}
        return jwt.encode(payload, signer.private, algorithm="RS256", headers=headers)

    def rotate(self) -> SigningKey:
        """A new current key, published first in the JWKS; the old one stays listed."""
        self.keys.insert(0, SigningKey())
        return self.keys[0]

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread.start()

    def stop(self) -> None:
        """Shut the server down."""
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def local_identity_provider(port: int = 0) -> Iterator[LocalIdentityProvider]:
    """A provider for the duration of the block (on a free port unless `port`)."""
    provider = LocalIdentityProvider(port)
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGINT or SIGTERM; print the settings that trust it and a token (env lines)."""
    parser = argparse.ArgumentParser(prog="python -m scripts.local_idp", description=__doc__)
    parser.add_argument("--port", type=int, default=9400)
    parser.add_argument("--scope", default=ALL_SCOPES)
    parser.add_argument("--ttl", type=float, default=12 * 3600, help="token lifetime, seconds")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with local_identity_provider(args.port) as provider:
        token = provider.token(args.scope or None, ttl=args.ttl)
        print(f"OIDC_ISSUER={provider.issuer}\nOIDC_AUDIENCE={AUDIENCE}\nTOKEN={token}", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
