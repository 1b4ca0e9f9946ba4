"""v2 page cursors: opaque to clients and tamper-evident, so only positions we issued are read.

A cursor is unpadded base64url(`<last id>:<tag>`), the tag being the first 16 bytes of
HMAC-SHA256(CURSOR_SECRET, id). Anything else (forged, altered, truncated, signed with another
secret, an id no BIGINT holds) is the client's error: `InvalidInputError`, a 400.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from functools import lru_cache

from {{ cookiecutter.package_name }}.errors import InvalidInputError
from {{ cookiecutter.package_name }}.items.models import MAX_ID, MIN_ID

TAG_BYTES = 16  # 128 bits: ample against forgery, and the cursor stays under 64 characters
_ID = re.compile(rb"[0-9]{1,19}")  # ASCII digits only: str.isdigit() also accepts "²"
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

    def encode(self, item_id: int) -> str:
        """The cursor that resumes after `item_id`."""
        return self.sign(str(item_id).encode())

    def decode(self, cursor: str) -> int:
        """The id a cursor we issued holds; `InvalidInputError` for anything else."""
        if not cursor.isascii():  # compare_digest takes ASCII strings only
            raise InvalidInputError(_REJECTED)
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (ValueError, binascii.Error) as exc:
            raise InvalidInputError(_REJECTED) from exc
        payload, _, _ = raw.partition(b":")
        if not _ID.fullmatch(payload) or not MIN_ID <= int(payload) <= MAX_ID:
            raise InvalidInputError(_REJECTED)
        # Recomputing the whole cursor also rejects every other spelling of the same bytes.
        if not hmac.compare_digest(self.sign(payload), cursor):
            raise InvalidInputError(_REJECTED)
        return int(payload)


@lru_cache(maxsize=4)
def codec_for(secret: str) -> CursorCodec:
    """One codec per secret, built on first use rather than on every request."""
    return CursorCodec(secret.encode())
