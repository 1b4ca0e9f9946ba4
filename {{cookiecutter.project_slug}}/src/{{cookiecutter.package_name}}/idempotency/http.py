"""The `Idempotency-Key` request header and the replayable response, for POST endpoints.

The draft (IETF httpapi idempotency-key-header) makes the key a structured-field string;
clients send it quoted or bare, so both are read. The key is scoped to the caller: the token's
subject, or one anonymous scope for every caller when authentication is off (ENVIRONMENT=local).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel

from {{ cookiecutter.package_name }}.api.deps import resources_of
from {{ cookiecutter.package_name }}.auth.tokens import PRINCIPAL_KEY, Principal
from {{ cookiecutter.package_name }}.errors import InvalidInputError
from {{ cookiecutter.package_name }}.idempotency.keys import (
    ANONYMOUS,
    MAX_KEY_LENGTH,
    IdempotentRequest,
    Outcome,
    StoredResponse,
    fingerprint,
)

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"  # on a replayed answer only, as Stripe names it
# Printable ASCII (space included: a structured-field string allows it), no quote or backslash.
_KEY = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]+")
# What a replay repeats besides status and body; the rest (dates, request ids, v1's notice) is
# the replay's own.
STORED_HEADERS = frozenset({"content-type", "location", "etag"})
KEY_DESCRIPTION = (
    "1-255 printable ASCII characters (e.g. a UUID), unique per request. A retry with the same "
    f"key and body gets the first answer again, with `{REPLAYED_HEADER}: true`; with another "
    "body, a 422; while the first is in progress, a 409. Per caller, kept for "
    "IDEMPOTENCY_KEY_TTL_SECONDS (24 h by default)."
)


class KeyedPost:
    """A POST with a valid key: its `IdempotentRequest` but for the body (`with_body`).

    Built before the body is validated: a dependency does not see the endpoint's body model.
    """

    __slots__ = ("caller", "key", "method", "path", "ttl", "wait")

    def __init__(self, request: Request, key: str) -> None:
        settings = resources_of(request).settings
        principal: Principal | None = request.scope.get(PRINCIPAL_KEY)
        self.caller = principal.subject if principal is not None else ANONYMOUS
        self.key = key
        self.method = request.method
        self.path = request.url.path
        self.ttl = timedelta(seconds=settings.idempotency_key_ttl_seconds)
        self.wait = timedelta(seconds=settings.idempotency_wait_seconds)

    def with_body(self, body: BaseModel) -> IdempotentRequest:
        """The request the key names: this method and path with this validated body."""
        sha256 = fingerprint(self.method, self.path, body.model_dump(mode="json"))
        return IdempotentRequest(self.caller, self.key, sha256, self.ttl, self.wait)


def parse_key(value: str) -> str:
    """The key of a header value (quotes removed); `InvalidInputError` (400) when malformed."""
    key = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value  # noqa: PLR2004 - two quotes
    if len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise InvalidInputError(
            f"{KEY_HEADER} must be 1-{MAX_KEY_LENGTH} printable ASCII characters, "
            'without " or \\ inside (e.g. a UUID).'
        )
    return key


async def idempotency_key(
    request: Request,
    key: Annotated[
        str | None,
        # Documented, not validated by FastAPI: a malformed key is a 400 (parse_key), not a 422.
        Header(
            alias=KEY_HEADER,
            description=KEY_DESCRIPTION,
            json_schema_extra={"maxLength": MAX_KEY_LENGTH + 2, "minLength": 1},
        ),
    ] = None,
) -> KeyedPost | None:
    """The POST's key, or None without the header (then the POST is not idempotent)."""
    return None if key is None else KeyedPost(request, parse_key(key))


IdempotencyKeyDep = Annotated[KeyedPost | None, Depends(idempotency_key)]


def stored(response: Response) -> StoredResponse:
    """What of a rendered answer a replay repeats."""
    headers = tuple(
        (name, value) for name, value in response.headers.items() if name in STORED_HEADERS
    )
    return StoredResponse(response.status_code, headers, bytes(response.body))


def replayable(outcome: Outcome) -> Response:
    """The answer as sent: the first time as rendered, each replay marked as one."""
    answer = outcome.response
    headers = dict(answer.headers)
    if outcome.replayed:
        headers[REPLAYED_HEADER] = "true"
    return Response(answer.body, status_code=answer.status, headers=headers)
