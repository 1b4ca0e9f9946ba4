"""Our own bearer token for calls to other services: the OAuth 2.0 client-credentials grant.

Set as an ``httpx.AsyncClient``'s ``auth``, every request it sends carries
``Authorization: Bearer <token>``. The token is fetched on first use through that same client
(its transport, timeout and tracing), reused until shortly before it expires, and fetched once
however many requests are waiting for it. A 401 from the called service (a revoked token, or one
it no longer trusts) fetches a fresh token and sends the request once more.

    async with httpx.AsyncClient(base_url="https://items.internal", timeout=5) as items:
        items.auth = await ClientCredentials.from_issuer(
            settings.oidc_issuer,
            client_id="orders-service",
            client_secret=settings.items_client_secret,  # a SecretStr
            scope="items:read",
            resource="https://items.example.test",  # the called service's OIDC_AUDIENCE
            http=items,
        )
        response = await items.get("/api/v2/items")

A refusal or a garbled answer from the token endpoint raises ``TokenRequestError`` (an
``httpx.HTTPError``); an unreachable one, httpx's own transport error for the token URL. Nothing
here logs; messages name the endpoint, the client id and the endpoint's OAuth error code, never
the secret or a token. Call ``raise_for_status()`` on the answer rather than in a response event
hook, which would see a 401 before the retry. Only ``httpx.AsyncClient`` is supported: the cache
is guarded by an ``asyncio.Lock``.
"""

from __future__ import annotations

import asyncio
import base64
import math
import time
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx
from pydantic import SecretStr

# Refresh this long before expiry: the request must reach the called service, and be checked
# against its clock, while the token is still valid; 30 s covers latency, a retry and a clock a
# little ahead of ours. A short-lived token would lose most of its life to that, so the margin
# is never more than a tenth of the lifetime (6 s of a 60 s token).
REFRESH_MARGIN_SECONDS = 30.0
REFRESH_MARGIN_SHARE = 0.1
TOKEN_TIMEOUT = httpx.Timeout(5.0)  # for a request that carries no timeout of its own
DESCRIPTION_LIMIT = 200  # characters of the endpoint's error_description kept in a message


class TokenRequestError(httpx.HTTPError):
    """The token endpoint (or the issuer's discovery document) did not give us a bearer token.

    An ``httpx.HTTPError``, so callers that handle a failed call to another service handle this
    too; ``error`` is the endpoint's OAuth error code (``invalid_client``...) when it sent one.
    """

    def __init__(
        self, message: str, *, request: httpx.Request, status_code: int, error: str | None = None
    ) -> None:
        super().__init__(message)
        self.request = request
        self.status_code = status_code
        self.error = error


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float  # on the helper's clock; infinite when the endpoint gave no lifetime


class ClientCredentials(httpx.Auth):
    """An ``httpx.Auth`` holding one cached client-credentials token (see the module docstring).

    The client authenticates with HTTP Basic (``client_secret_basic``, the method every provider
    supports); ``resource`` is sent as an RFC 8707 resource indicator, which makes the token's
    audience the called service.
    """

    def __init__(  # noqa: PLR0913 - keyword-only options after the three credentials
        self,
        token_url: str,
        client_id: str,
        client_secret: SecretStr | str,
        *,
        scope: str | None = None,
        resource: str | None = None,
        refresh_margin: float = REFRESH_MARGIN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._secret = SecretStr(client_secret) if isinstance(client_secret, str) else client_secret
        self._form = {"grant_type": "client_credentials"}
        self._form |= {"scope": scope} if scope else {}
        self._form |= {"resource": resource} if resource else {}
        self._margin = refresh_margin
        self._clock = clock
        self._token: _Token | None = None
        self._lock = asyncio.Lock()

    @classmethod
    async def from_issuer(  # noqa: PLR0913 - the constructor's options, passed through
        cls,
        issuer: str,
        client_id: str,
        client_secret: SecretStr | str,
        *,
        http: httpx.AsyncClient,
        scope: str | None = None,
        resource: str | None = None,
        refresh_margin: float = REFRESH_MARGIN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> ClientCredentials:
        """The helper for ``issuer``'s token endpoint, read from its discovery document."""
        url = f"{issuer.rstrip('/')}/.well-known/openid-configuration"
        response = await http.get(url, auth=None)
        return cls(
            _token_endpoint(issuer, response),
            client_id,
            client_secret,
            scope=scope,
            resource=resource,
            refresh_margin=refresh_margin,
            clock=clock,
        )

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Send ``request`` with the cached token; after a 401, once more with a fresh one."""
        await request.aread()  # a request sent twice needs its body twice
        retried = False
        while True:
            token = self._fresh()
            if token is None:
                async with self._lock:
                    token = self._fresh()  # another request may have fetched it meanwhile
                    if token is None:
                        sent = self._clock()
                        answer = yield self._token_request(request)
                        await answer.aread()
                        token = self._store(answer, sent)
            request.headers["Authorization"] = f"Bearer {token.value}"
            response = yield request
            if response.status_code != httpx.codes.UNAUTHORIZED or retried:
                return
            if self._token is token:  # not yet replaced by a request that got its 401 earlier
                self._token = None
            retried = True

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        """Refused: httpx's default would send the request without any token."""
        raise TypeError(
            f"ClientCredentials needs an httpx.AsyncClient, not httpx.Client ({request.url})"
        )

    def _fresh(self) -> _Token | None:
        token = self._token
        return token if token is not None and self._clock() < token.refresh_at else None

    def _token_request(self, request: httpx.Request) -> httpx.Request:
        # RFC 6749 §2.3.1: the id and secret are form-encoded before they are Basic-encoded.
        pair = f"{quote_plus(self.client_id)}:{quote_plus(self._secret.get_secret_value())}"
        basic = base64.b64encode(pair.encode()).decode("ascii")
        return httpx.Request(
            "POST",
            self.token_url,
            data=self._form,
            headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
            extensions={"timeout": request.extensions.get("timeout", TOKEN_TIMEOUT.as_dict())},
        )

    def _store(self, answer: httpx.Response, sent: float) -> _Token:
        """The token from a token endpoint's answer (RFC 6749 §5.1), cached; else the error."""
        body = _json_object(answer)
        if answer.status_code != httpx.codes.OK:
            error = self._said(body, "error")
            description = self._said(body, "error_description")
            detail = "".join(f", {part}" for part in (error, description) if part)
            raise TokenRequestError(
                f"token endpoint {self.token_url} refused client {self.client_id!r}: "
                f"HTTP {answer.status_code}{detail}",
                request=answer.request,
                status_code=answer.status_code,
                error=error,
            )
        value = body.get("access_token")
        bearer = str(body.get("token_type", "")).lower() == "bearer"  # RFC 6749 5.1: any case
        if not value or not isinstance(value, str) or not bearer:
            raise TokenRequestError(
                f"token endpoint {self.token_url} answered client {self.client_id!r} "
                "without a bearer access_token",
                request=answer.request,
                status_code=answer.status_code,
            )
        lifetime = _seconds(body.get("expires_in"))
        refresh_at = math.inf  # no lifetime given: kept until the called service answers 401
        if lifetime is not None:
            refresh_at = sent + lifetime - min(self._margin, lifetime * REFRESH_MARGIN_SHARE)
        self._token = _Token(value, refresh_at)
        return self._token

    def _said(self, body: dict[str, Any], key: str) -> str | None:
        """A field of an error answer, short, and without our secret should the endpoint echo it."""
        value = body.get(key)
        if not isinstance(value, str) or not value:
            return None
        secret = self._secret.get_secret_value()
        return (value.replace(secret, "**********") if secret else value)[:DESCRIPTION_LIMIT]


def _token_endpoint(issuer: str, response: httpx.Response) -> str:
    """The token endpoint named by an issuer's discovery document, checked as OIDC asks."""
    document = _json_object(response)
    token_url = document.get("token_endpoint")
    if response.status_code != httpx.codes.OK:
        problem = f"HTTP {response.status_code}"
    elif document.get("issuer") != issuer:  # OpenID Connect Discovery 1.0, section 4.3
        problem = f"it names issuer {document.get('issuer')!r}"
    elif not isinstance(token_url, str) or not token_url:
        problem = "it names no token_endpoint"
    else:
        return token_url
    raise TokenRequestError(
        f"issuer {issuer}: no usable discovery document at {response.request.url}: {problem}",
        request=response.request,
        status_code=response.status_code,
    )


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object, or empty when the body is anything else (an HTML 502...)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _seconds(value: object) -> float | None:
    """``expires_in`` as a positive number of seconds; some providers send it as a string."""
    if not isinstance(value, int | float | str) or isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 < seconds < math.inf else None
