"""Conditional requests (RFC 9110 section 13) on resources with a row version.

A resource's version, a number every change raises, is its strong entity tag: `ETag: "7"`.
`If-Match` makes a change conditional on the versions it names (strong comparison: a weak tag
`W/"7"` never matches), `*` on any; the use case compares in the statement that writes, so of
two clients that read one version only the first to change it succeeds, the other gets 412.
`If-None-Match` on a read answers 304 without a body when the client's copy is current (weak
comparison, as RFC 9110 says for it). A precondition on a resource that does not exist is
ignored: the answer is its 404 (RFC 9110 section 13.2.1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from pydantic.json_schema import SkipJsonSchema
from starlette.datastructures import Headers

from {{ cookiecutter.package_name }}.api.responses import header
from {{ cookiecutter.package_name }}.errors import PreconditionRequiredError

ETAG = "ETag"
# RFC 9110 section 8.8.3: entity-tag = [ W/ ] DQUOTE *etagc DQUOTE; a list is comma-separated.
# Found by scanning (commas and spaces between are skipped): a pattern with `\s*` around each
# tag took 4 s on a header of 16,000 spaces (quadratic backtracking); this one takes 1 ms.
ENTITY_TAG = re.compile(r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"')
# The version column is an INTEGER: a larger number names no version (and binds to nothing).
# Longer digit strings are not even converted: int() refuses over 4300 digits (a 500).
MAX_VERSION = 2**31 - 1
MAX_DIGITS = len(str(MAX_VERSION))


def entity_tag(version: int) -> str:
    """The strong ETag of a resource at this version."""
    return f'"{version}"'


@dataclass(frozen=True, slots=True)
class EntityTags:
    """One `If-Match` or `If-None-Match` field: `*`, or the tags it lists."""

    any: bool
    strong: frozenset[str]  # the opaque values of the strong tags
    weak: frozenset[str]  # ... and of the weak ones

    @classmethod
    def read(cls, headers: Headers, name: str) -> EntityTags | None:
        """The field's tags over all its lines, or None without the field.

        A malformed member is skipped, so it matches nothing: an If-Match that cannot be read
        fails (412) rather than letting the change through.
        """
        lines = headers.getlist(name)
        if not lines:
            return None
        value = ", ".join(lines)
        if value.strip() == "*":
            return cls(any=True, strong=frozenset(), weak=frozenset())
        strong: set[str] = set()
        weak: set[str] = set()
        for weakness, opaque in ENTITY_TAG.findall(value):
            (weak if weakness else strong).add(opaque)
        return cls(any=False, strong=frozenset(strong), weak=frozenset(weak))

    def versions(self) -> frozenset[int] | None:
        """The versions a change may apply to (strong comparison); None for any version."""
        if self.any:
            return None
        return frozenset(
            int(opaque)
            for opaque in self.strong
            if opaque.isascii()
            and opaque.isdigit()
            and len(opaque) <= MAX_DIGITS
            and 0 < int(opaque) <= MAX_VERSION
        )

    def names(self, version: int) -> bool:
        """Whether this field names the version, by weak comparison (If-None-Match)."""
        opaque = str(version)
        return self.any or opaque in self.strong or opaque in self.weak


class NotModified(Exception):  # noqa: N818 - not an error: how a read answers 304
    """Raised by a read whose `If-None-Match` names the current version; answered with 304."""

    def __init__(self, etag: str) -> None:
        super().__init__(etag)
        self.etag = etag


async def not_modified(_request: Request, exc: Exception) -> Response:
    """304: the ETag again, and no body, so no Content-Type or Content-Length (RFC 9110 15.4.5)."""
    assert isinstance(exc, NotModified)  # noqa: S101 - registered for this type only  # nosec B101
    return Response(status_code=304, headers={ETAG: exc.etag})


def current_etag(version: int, if_none_match: EntityTags | None) -> str:
    """The ETag of a resource read at this version; `NotModified` when the client has it."""
    etag = entity_tag(version)
    if if_none_match is not None and if_none_match.names(version):
        raise NotModified(etag)
    return etag


async def _if_match(
    request: Request,
    _if_match: Annotated[
        str | SkipJsonSchema[None],  # a header is absent, never null
        Header(
            alias="If-Match",
            description=(
                "Delete only if the item is at a version listed (its `ETag`), or `*`: "
                "otherwise 412. Without it, any version is deleted."
            ),
        ),
    ] = None,
) -> frozenset[int] | None:
    tags = EntityTags.read(request.headers, "if-match")
    return None if tags is None else tags.versions()


async def _if_match_required(
    request: Request,
    _if_match: Annotated[
        str | SkipJsonSchema[None],
        Header(
            alias="If-Match",
            description=(
                "Required (428 without it): change the item only if it is still at a version "
                "listed (the `ETag` of the copy the change is based on), else 412. `*` changes "
                "whatever version is current. Weak tags (`W/`) never match."
            ),
        ),
    ] = None,
) -> frozenset[int] | None:
    tags = EntityTags.read(request.headers, "if-match")
    if tags is None:
        msg = "Send If-Match with the item's ETag (or *): a change names the version it is on."
        raise PreconditionRequiredError(msg)
    return tags.versions()


async def _if_none_match(
    request: Request,
    _if_none_match: Annotated[
        str | SkipJsonSchema[None],
        Header(
            alias="If-None-Match",
            description="The `ETag` of the copy the client has: 304 without a body if current.",
        ),
    ] = None,
) -> EntityTags | None:
    return EntityTags.read(request.headers, "if-none-match")


# What a route takes: the versions its change may apply to (None: any), and a read's validators.
# The functions are async for speed alone: FastAPI runs a plain `def` dependency in a thread
# (measured: +100-300 us on a cache hit).
IfMatch = Annotated[frozenset[int] | None, Depends(_if_match)]
IfMatchRequired = Annotated[frozenset[int] | None, Depends(_if_match_required)]
IfNoneMatch = Annotated[EntityTags | None, Depends(_if_none_match)]


# OpenAPI: the header of every response that shows one item, and a read's 304.
ETAG_HEADERS = {
    ETAG: header(
        'The item\'s version as a strong entity tag (`"7"`): send it as `If-Match` to change '
        "only this version, or as `If-None-Match` to read it only if it changed"
    )
}
NOT_MODIFIED = {
    304: {
        "description": "`If-None-Match` names the current version: the client's copy is current",
        "headers": ETAG_HEADERS,
    }
}
