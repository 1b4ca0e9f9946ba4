"""v2 page cursors: opaque to clients and tamper-evident, so only positions we issued are read.

A cursor is unpadded base64url(`<payload>:<tag>`), the tag being the first 16 bytes of
HMAC-SHA256(CURSOR_SECRET, payload), and the payload a `listing.Position`: the sort, a
fingerprint of the filters, the last row's id and sort key. Anything else (forged, altered,
truncated, signed with another secret, a position no listing has) is the client's error:
`InvalidInputError`, a 400.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from functools import lru_cache

from {{ cookiecutter.package_name }}.errors import InvalidInputError
from {{ cookiecutter.package_name }}.items.listing import Position

TAG_BYTES = 16  # 128 bits: ample against forgery
# base64 of the longest payload, "-name" (5), ":" fingerprint (9), ":" id (20), ":" name (1 +
# 200 characters of 4 bytes), then ":" tag (17): 852 bytes. Other sorts: at most 104.
MAX_LENGTH = 1_136
_REJECTED = "cursor is not one this API issued"


class CursorCodec:
    """Signs and checks cursors with one secret (one per deployment, see `CURSOR_SECRET`)."""

    __slots__ = ("_mac",)

    def __init__(self, secret: bytes) -> None:
        self._mac = hmac.new(secret, digestmod=hashlib.sha256)

    def sign(self, payload: bytes) -> str:
        """The cursor for a payload; `encode` is the only caller outside tests."""
        mac = self._mac.copy()
        mac.update(payload)
        token = base64.urlsafe_b64encode(payload + b":" + mac.digest()[:TAG_BYTES])
        return token.decode().rstrip("=")

    def encode(self, position: Position) -> str:
        """The cursor that resumes after `position`."""
        return self.sign(position.dump())

    def decode(self, cursor: str) -> Position:
        """The position a cursor we issued holds; `InvalidInputError` for anything else."""
        if not cursor.isascii():  # compare_digest takes ASCII strings only
            raise InvalidInputError(_REJECTED)
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (ValueError, binascii.Error) as exc:
            raise InvalidInputError(_REJECTED) from exc
        payload = raw[: -TAG_BYTES - 1]
        # Recomputing the whole cursor also rejects every other spelling of the same bytes.
        if len(raw) <= TAG_BYTES + 1 or not hmac.compare_digest(self.sign(payload), cursor):
            raise InvalidInputError(_REJECTED)
        try:
            return Position.parse(payload)
        except (ValueError, OverflowError) as exc:  # signed, but not a position (or 0 as id)
            raise InvalidInputError(_REJECTED) from exc


@lru_cache(maxsize=4)
def codec_for(secret: str) -> CursorCodec:
    """One codec per secret, built on first use rather than on every request."""
    return CursorCodec(secret.encode())
