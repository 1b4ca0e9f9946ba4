"""Access tokens (RFC 9068 JWTs) checked against the provider's keys, and what they grant.

PyJWT does the cryptography and the registered claims; this module chooses what to trust: the
algorithm from an allow-list (the token's own `alg` is never trusted alone), the key by `kid`
from the provider's JWKS, `iss` and `aud` from settings, and `exp`, `nbf`, `iat` within a small
clock skew.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.exceptions import ExpiredSignatureError, ImmatureSignatureError, PyJWTError
from prometheus_client import Counter

from {{ cookiecutter.package_name }}.auth.keys import KeySet

REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")
# Distinct tokens remembered once verified (about 1 KB each). A caller reuses its token until it
# nearly expires, so almost every request repeats one: measured here, a signature and claims
# check costs ~155 us CPU per request, finding a remembered token under 1 us.
REMEMBERED_TOKENS = 4096
SIGNATURE_CHECKS = Counter(
    "oidc_token_signature_checks",
    "Bearer tokens checked against the provider's keys.",
    ("outcome",),
)
# Where the authorized caller waits in the ASGI scope, for the access line and the span.
PRINCIPAL_KEY = "principal"


class InvalidTokenError(Exception):
    """The token is missing, malformed, expired, or not signed by the provider (a 401).

    The message says why in a few words for the client; it never holds the token.
    """


class MissingTokenError(InvalidTokenError):
    """No bearer token at all: RFC 6750 answers it without an error code."""


class InsufficientScopeError(Exception):
    """A valid token without the scope the operation needs (a 403)."""

    def __init__(self, scope: str) -> None:
        super().__init__(f"This operation needs the scope {scope}.")
        self.scope = scope


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's subject, the client it was issued to, what it may do."""

    subject: str
    client_id: str | None
    scopes: frozenset[str]

    def require(self, scope: str) -> None:
        """Raise `InsufficientScopeError` unless the token grants `scope`."""
        if scope not in self.scopes:
            raise InsufficientScopeError(scope)


def scopes_of(claims: dict[str, Any]) -> frozenset[str]:
    """RFC 9068's space-separated `scope`, or the `scp` list some providers send instead."""
    scope = claims.get("scope")
    if isinstance(scope, str):
        return frozenset(scope.split())
    scp = claims.get("scp")
    if isinstance(scp, list):
        return frozenset(item for item in scp if isinstance(item, str))
    return frozenset()


@dataclass(frozen=True, slots=True)
class _Verified:
    """A token that passed every check: who it names, and while it stays valid."""

    principal: Principal
    not_before: float  # nbf, or iat when later
    expires: float
    generation: int  # of the key set that verified it


class TokenVerifier:
    """Turns a bearer token into a `Principal`, or raises `InvalidTokenError`.

    A verified token is remembered (`REMEMBERED_TOKENS`, oldest forgotten first) until it
    expires, and only while the provider's key set is the one that verified it: a refetch that
    may have withdrawn a key makes every token pass the full check again.
    """

    def __init__(
        self,
        keys: KeySet,
        *,
        audience: str,
        algorithms: Collection[str],
        leeway: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keys = keys
        self.issuer = keys.issuer
        self.audience = audience
        self.algorithms = frozenset(algorithms)
        self.leeway = leeway
        self.remember = REMEMBERED_TOKENS
        self.clock = clock  # the remembered tokens' clock (PyJWT reads the system's)
        self._verified: dict[str, _Verified] = {}  # insertion-ordered: the oldest first

    @property
    def remembered(self) -> int:
        """How many verified tokens are remembered."""
        return len(self._verified)

    async def verify(self, token: str) -> Principal:
        """A remembered token while it stays valid, else the full check; never log the token."""
        known = self._verified.get(token)
        if known is not None and known.generation == self.keys.generation and not self.keys.stale():
            now = self.clock()
            # PyJWT's own rules with the same leeway: past `exp` and before `nbf`/`iat` it fails.
            if now >= known.expires + self.leeway:
                raise InvalidTokenError("The access token expired.")
            if now >= known.not_before - self.leeway:
                return known.principal
        principal, claims = await self._check(token)
        self._verified.pop(token, None)
        if len(self._verified) >= self.remember:
            del self._verified[next(iter(self._verified))]
        not_before = max(float(claims.get("nbf", 0)), float(claims["iat"]))
        self._verified[token] = _Verified(
            principal, not_before, float(claims["exp"]), self.keys.generation
        )
        return principal

    async def _check(self, token: str) -> tuple[Principal, dict[str, Any]]:
        """The signature with the provider's key, then the claims."""
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError:
            raise InvalidTokenError("The access token is malformed.") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if not isinstance(algorithm, str) or algorithm not in self.algorithms:
            raise InvalidTokenError("The access token's signing algorithm is not accepted.")
        if not isinstance(kid, str):
            raise InvalidTokenError("The access token names no signing key.")
        key = await self.keys.key(kid)
        if key is None or algorithm not in key.algorithms:
            raise InvalidTokenError("The access token is not signed by a key of the issuer.")
        claims = self._decode(token, key.public_key, algorithm)
        client_id = claims.get("client_id", claims.get("azp"))
        principal = Principal(
            subject=str(claims["sub"]),
            client_id=client_id if isinstance(client_id, str) else None,
            scopes=scopes_of(claims),
        )
        return principal, claims

    def _decode(self, token: str, key: Any, algorithm: str) -> dict[str, Any]:  # noqa: ANN401 - PyJWT's key types
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except ExpiredSignatureError:
            SIGNATURE_CHECKS.labels("expired").inc()
            raise InvalidTokenError("The access token expired.") from None
        except ImmatureSignatureError:
            SIGNATURE_CHECKS.labels("immature").inc()
            raise InvalidTokenError("The access token is not valid yet.") from None
        except (PyJWTError, ValueError, TypeError):
            SIGNATURE_CHECKS.labels("invalid").inc()
            # Bad signature, wrong issuer or audience, a missing claim: one answer for all, so
            # a prober learns nothing about which check failed.
            raise InvalidTokenError("The access token is not valid for this service.") from None
        SIGNATURE_CHECKS.labels("ok").inc()
        return claims
