"""The OpenAPI contract of errors: one `Problem` schema, and each operation's exact statuses.

Clients and fuzzers read these declarations: an operation lists the statuses it can answer,
no more (a 409 on a read) and no fewer (413 and 500 can come from any request), each with the
RFC 9457 body under `application/problem+json`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

PROBLEM_JSON = "application/problem+json"
REF = "#/components/schemas/{model}"


class Issue(BaseModel):
    """One reason a request is not valid: where, why, and the kind of error (never the input)."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details: the body of every error response."""

    type: str = Field(description="`about:blank`: the title is the HTTP status phrase.")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str = Field(default="", description="What went wrong, for a person.")
    instance: str = Field(description="The request path.")
    errors: list[Issue] = Field(default_factory=list, description="Each invalid input (422 only).")


# Every items operation can answer these, whatever it does: the body limit applies to any
# request (a GET with a large body too), path and query values are validated, and the
# database or the code can fail. 429: the caller's rate limit (RATE_LIMIT, api/rate_limit.py).
SHARED_ERRORS = (413, 422, 429, 500, 503)
UNAVAILABLE = 503  # the database is down: retry after `Retry-After`
TOO_MANY_REQUESTS = 429  # the caller's rate limit: retry after `Retry-After`
UNAUTHORIZED, FORBIDDEN = 401, 403  # RFC 6750: each with its `WWW-Authenticate` challenge
BAD_REQUEST = 400
DESCRIPTIONS = {
    400: (
        "The request cannot be read: a body that is not UTF-8, a query parameter the operation "
        "does not have (v2), a cursor this API did not issue or issued for another sort or "
        "filters, `price_min` above `price_max`, a malformed `Idempotency-Key`"
    ),
    401: "No bearer token, or one that is malformed, expired or not from the identity provider",
    403: "The bearer token lacks the scope this operation needs (named in `WWW-Authenticate`)",
    404: "No such item",
    409: (
        "An item with this name exists, or a request with this `Idempotency-Key` is still in "
        "progress"
    ),
    412: "`If-Match` names no current version of the item: read it again (its `ETag`), then retry",
    413: "The request body is over the size limit",
    415: "The request body is not of the operation's JSON media type",
    422: "A parameter or the body is not valid",
    428: "No `If-Match`: a change must name the version (`ETag`) it is based on",
    429: "Over the caller's rate limit; retry after `Retry-After` seconds",
    500: "An unexpected error; the body holds no detail",
    503: "The database is unavailable; retry after `Retry-After` seconds",
}


def header(description: str) -> dict[str, Any]:
    """A header every such response carries."""
    return {"description": description, "required": True, "schema": {"type": "string"}}


NOTICE_HEADERS = {
    "Deprecation": header("When v1 was deprecated (RFC 9745)"),
    "Sunset": header("When v1 goes away (RFC 8594)"),
    "Link": header("The same resource in v2 (`successor-version`)"),
}
RETRY_AFTER = {"Retry-After": header("Seconds to wait before retrying")}
CHALLENGE = {"WWW-Authenticate": header("The RFC 6750 `Bearer` challenge: error, scope")}
# draft-ietf-httpapi-ratelimit-headers-11; on every response while RATE_LIMIT is set.
RATE_LIMIT_DESCRIPTIONS = {
    "RateLimit-Policy": 'The caller\'s quota and window in seconds: `"default";q=100;w=1`',
    "RateLimit": 'What is left of it and the seconds until it resets: `"default";r=0;t=1`',
}
RATE_LIMITED = {
    **RETRY_AFTER,
    **{name: header(text) for name, text in RATE_LIMIT_DESCRIPTIONS.items()},
}
RATE_LIMIT_HEADERS = {
    name: {**header(f"{text} (while the service limits requests)"), "required": False}
    for name, text in RATE_LIMIT_DESCRIPTIONS.items()
}
OWN_HEADERS = {
    UNAVAILABLE: RETRY_AFTER,
    UNAUTHORIZED: CHALLENGE,
    FORBIDDEN: CHALLENGE,
    TOO_MANY_REQUESTS: RATE_LIMITED,
}
# The headers of a create's 201 (`Route.headers`).
CREATED_HEADERS = {
    "Location": header("The created resource (RFC 9110 section 10.2.2)"),
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with the "
        "same `Idempotency-Key`",
        "required": False,
        "schema": {"type": "string", "enum": ["true"]},
    },
}


def problem_response(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """One documented error: its meaning, the `Problem` body, the headers it always has."""
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": REF.format(model="Problem")}}},
    }
    if headers:
        response["headers"] = headers
    return response


def problem_responses(*statuses: int, deprecated: bool = False) -> dict[int | str, Any]:
    """Several documented errors, described by `DESCRIPTIONS`, v1's notice on each if asked."""
    notice = NOTICE_HEADERS if deprecated else {}
    return {
        status: problem_response(
            DESCRIPTIONS[status],
            {**notice, **OWN_HEADERS.get(status, {})},
        )
        for status in sorted(set(statuses))
    }


def documented_responses(
    success: int,
    errors: Iterable[int],
    *,
    deprecated: bool = False,
    headers: Mapping[str, Any] | None = None,
    others: Mapping[int, dict[str, Any]] | None = None,
) -> dict[int | str, Any]:
    """The `responses` of one items operation: its own errors, the shared ones, v1's notice.

    `headers` are those of its success response (besides the rate limit's, which every one
    may carry); `others` its responses that are neither success nor problem (a 304), each
    with v1's notice too.
    """
    responses = problem_responses(*errors, *SHARED_ERRORS, deprecated=deprecated)
    notice = NOTICE_HEADERS if deprecated else {}
    responses[success] = {"headers": {**notice, **(headers or {}), **RATE_LIMIT_HEADERS}}
    for status, response in (others or {}).items():
        responses[status] = {**response, "headers": {**notice, **response.get("headers", {})}}
    return dict(sorted(responses.items(), key=lambda response: str(response[0])))


def document_problems(app: FastAPI) -> None:
    """Add `Problem` (and `Issue`) to the app's schema components, which the responses name."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            schema = Problem.model_json_schema(ref_template=REF)
            components = spec.setdefault("components", {}).setdefault("schemas", {})
            components.update(schema.pop("$defs", {}))
            components["Problem"] = schema
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign] # FastAPI's documented way to extend it
