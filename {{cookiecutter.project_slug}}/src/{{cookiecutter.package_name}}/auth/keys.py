"""The identity provider's signing keys (its JWKS), fetched through OIDC discovery and cached.

Validating a token is then a local signature check. The cache refetches on a `kid` it does not
know (the provider rotated its key) and when it grows old, at most once per refresh interval
whatever the traffic, one fetch at a time; while the provider is unreachable it keeps serving
the keys it has.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from jwt import PyJWK
from jwt.exceptions import PyJWTError
from prometheus_client import Counter

logger = structlog.get_logger(__name__)

JWKS_FETCHES = Counter(
    "oidc_jwks_fetches", "Fetches of the identity provider's signing keys.", ("outcome",)
)
# The algorithms each key type signs with (RFC 7518 section 3.1, RFC 8037).
KEY_TYPE_ALGORITHMS = {
    "RSA": frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
    "EC": frozenset({"ES256", "ES384", "ES512"}),
    "OKP": frozenset({"EdDSA"}),
}


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One public key of the provider, parsed once, and the algorithms it may sign with."""

    public_key: Any  # a `cryptography` public key object, as PyJWT parsed it
    algorithms: frozenset[str]

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any]) -> SigningKey:
        """A key that declares its `alg` signs with that one only (RFC 7517 section 4.4)."""
        declared = jwk.get("alg")
        family = KEY_TYPE_ALGORITHMS.get(jwk.get("kty", ""), frozenset())
        algorithms = family & {declared} if isinstance(declared, str) else family
        return cls(PyJWK(jwk).key, algorithms)


class KeySet:
    """The provider's current keys by `kid`; `key(kid)` refreshes on a miss, rate-limited."""

    def __init__(
        self,
        issuer: str,
        http: httpx.AsyncClient,
        *,
        refresh_interval: float,
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.http = http
        self.refresh_interval = refresh_interval
        self.max_age = max_age
        self.clock = clock
        self.metadata: dict[str, Any] = {}  # the discovery document, once fetched
        self.generation = 0  # counts the fetched key sets: what was verified before may change
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last attempt, successful or not
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> SigningKey | None:
        """The key `kid` names, or None when the provider has no such key (or is unreachable)."""
        if self.stale() or kid not in self._keys:
            await self.refresh(kid)
        return self._keys.get(kid)

    def stale(self) -> bool:
        """Whether the keys are older than their maximum age (or were never fetched)."""
        return self._fetched_at is None or self.clock() - self._fetched_at > self.max_age

    async def refresh(self, wanted: str | None = None) -> None:
        """Fetch the keys unless an attempt ended within the interval; one at a time.

        Requests that arrive during a fetch wait for it and then find its keys (or its
        failure), so a burst of tokens with a new `kid` costs the provider one request, however
        long the fetch takes: a waiter whose `wanted` key has arrived fetches nothing, and the
        interval runs from the end of the last attempt.
        """
        async with self._lock:
            if wanted is not None and wanted in self._keys and not self.stale():
                return
            last = self._attempted_at
            if last is not None and self.clock() - last < self.refresh_interval:
                return
            try:
                keys = await self._fetch()
            except (httpx.HTTPError, ValueError) as exc:
                self._attempted_at = self.clock()
                JWKS_FETCHES.labels("error").inc()
                # Once per interval at most (attempts are), and never a token: only why.
                logger.warning(
                    "identity provider keys unavailable; known keys stay in use",
                    error=type(exc).__name__,
                    known_keys=len(self._keys),
                )
                return
            JWKS_FETCHES.labels("ok").inc()
            self._keys, self._fetched_at = keys, self.clock()
            self._attempted_at = self._fetched_at
            self.generation += 1

    async def _fetch(self) -> dict[str, SigningKey]:
        if not self.metadata:
            discovery = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
            metadata = await self._get_json(discovery)
            # OpenID Connect Discovery 1.0 section 4.3: the document must name this issuer.
            if metadata.get("issuer") != self.issuer or "jwks_uri" not in metadata:
                raise ValueError("the discovery document does not match OIDC_ISSUER")
            self.metadata = metadata
        document = await self._get_json(self.metadata["jwks_uri"])
        keys: dict[str, SigningKey] = {}
        # Signing keys with an id only (a token names its key by `kid`); a key of a type this
        # service cannot use is skipped, not fatal to the others.
        listed = document.get("keys")
        for jwk in listed if isinstance(listed, list) else []:
            if not isinstance(jwk, dict):
                continue
            if isinstance(jwk.get("kid"), str) and jwk.get("use", "sig") == "sig":
                try:
                    keys[jwk["kid"]] = SigningKey.from_jwk(jwk)
                except PyJWTError:
                    continue
        return keys

    async def _get_json(self, url: str) -> dict[str, Any]:
        response = await self.http.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        document = response.json()
        if not isinstance(document, dict):
            raise ValueError(f"{url} did not answer a JSON object")  # noqa: TRY004 - bad data
        return document
