"""Access tokens (RFC 9068 JWTs) checked against the provider's keys, and what they grant.

PyJWT does the cryptography and the registered claims; this module chooses what to trust: the
algorithm from an allow-list (the token's own `alg` is never trusted alone), the key by `kid`
from the provider's JWKS, `iss` and `aud` from settings, and `exp`, `nbf`, `iat` within a small
clock skew.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.exceptions import ExpiredSignatureError, ImmatureSignatureError, PyJWTError

from {{ cookiecutter.package_name }}.auth.keys import KeySet

REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")
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


class TokenVerifier:
    """Turns a bearer token into a `Principal`, or raises `InvalidTokenError`."""

    def __init__(
        self,
        keys: KeySet,
        *,
        audience: str,
        algorithms: Collection[str],
        leeway: int,
    ) -> None:
        self.keys = keys
        self.issuer = keys.issuer
        self.audience = audience
        self.algorithms = frozenset(algorithms)
        self.leeway = leeway

    async def verify(self, token: str) -> Principal:
        """Check the signature with the provider's key, then the claims; never log the token."""
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
        return Principal(
            subject=str(claims["sub"]),
            client_id=client_id if isinstance(client_id, str) else None,
            scopes=scopes_of(claims),
        )

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
            raise InvalidTokenError("The access token expired.") from None
        except ImmatureSignatureError:
            raise InvalidTokenError("The access token is not valid yet.") from None
        except (PyJWTError, ValueError, TypeError):
            # Bad signature, wrong issuer or audience, a missing claim: one answer for all, so
            # a prober learns nothing about which check failed.
            raise InvalidTokenError("The access token is not valid for this service.") from None
        return claims
