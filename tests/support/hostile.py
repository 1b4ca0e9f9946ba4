"""Hypothesis strategies for what generic generators skip, drawn for any schema of the document.

NUL and the other C0 controls, lone surrogates (sent as JSON `\\ud800` escapes or as invalid
UTF-8 in a URL), strings at and one past each length limit, whitespace-only strings, integers
at and beyond the BIGINT range, non-finite floats, wrong JSON types, undecodable and deeply
nested bodies, forged cursors. Mixed with plain valid values so that requests also get through.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

BIGINT = 2**63
EDGE_INTEGERS = [0, 1, -1, BIGINT - 1, BIGINT, -BIGINT, -BIGINT - 1, 2**64, 10**30, -(10**30)]
CONTROLS = [chr(code) for code in range(0x20)] + ["\x7f", "\x85"]
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
ODD = ["\u2028", "\ufeff", "\u200b", "\u00a0", "\uffff", "é", "😀", "\u0661"]
WHITESPACE = " \t\n\r\x0b\x0c\u00a0\u2003\u3000"
# One character each, of 1, 2, 4 UTF-8 bytes, an escape of 6 and a surrogate pair of 12.
FILLERS = ["a", "é", "😀", "\x00", "\ud800", " "]
WRONG_TYPES: list[Any] = [None, True, False, 0, -1, 1.5, "", "x", [], {}, [1], {"a": 1}]


def near_limits(low: int, high: int) -> st.SearchStrategy[str]:
    """Strings at and one past each length limit, of characters of every width."""
    lengths = sorted({max(low - 1, 0), low, high, high + 1})
    return st.builds(lambda n, c: c * n, st.sampled_from(lengths), st.sampled_from(FILLERS))


def hostile_text(low: int = 0, high: int = 64) -> st.SearchStrategy[str]:
    odd = st.sampled_from(CONTROLS + SURROGATES + ODD)
    plain = st.text(max_size=high + 1)
    return st.one_of(
        plain,
        st.lists(odd | st.characters(), min_size=1, max_size=12).map("".join),
        st.builds(lambda a, c, b: a + c + b, st.text(max_size=8), odd, st.text(max_size=8)),
        st.text(alphabet=WHITESPACE, min_size=1, max_size=12),
        near_limits(low, high),
    )


def integers_near(low: int | None, high: int | None) -> st.SearchStrategy[int]:
    edges = [*EDGE_INTEGERS]
    for bound in (low, high):
        if bound is not None:
            edges += [bound - 1, bound, bound + 1]
    return st.one_of(st.sampled_from(edges), st.integers(min_value=low, max_value=high))


def numbers_near(low: float | None, high: float | None) -> st.SearchStrategy[float]:
    edges = [0.0, -0.0, 0.001, 0.125, 1e-300, 1e308, float("inf"), float("-inf"), float("nan")]
    for bound in (low, high):
        if bound is not None:
            edges += [bound - 0.01, float(bound), bound + 0.01]
    return st.one_of(
        st.sampled_from(edges),
        st.integers(0, 100_000_000).map(lambda cents: cents * 0.01),
        st.floats(allow_nan=False),
    )


def value_for(schema: dict[str, Any], resolve: Any) -> st.SearchStrategy[Any]:
    """Valid and hostile values for one schema (any of its variants), or a wrong type."""
    schema = resolve(schema)
    variants = [resolve(v) for v in schema.get("anyOf", schema.get("oneOf", [schema]))]
    options: list[st.SearchStrategy[Any]] = [st.sampled_from(WRONG_TYPES)]
    for variant in variants:
        kind = variant.get("type")
        if kind == "string":
            low, high = variant.get("minLength", 0), variant.get("maxLength", 64)
            options.append(hostile_text(low, high))
            if "pattern" in variant:
                options.append(st.from_regex(variant["pattern"], fullmatch=True))
            else:
                options.append(
                    st.text(
                        st.characters(codec="utf-8"), min_size=max(low, 1), max_size=min(high, 40)
                    )
                )
        elif kind == "integer":
            options.append(integers_near(variant.get("minimum"), variant.get("maximum")))
        elif kind == "number":
            options.append(numbers_near(variant.get("minimum"), variant.get("maximum")))
        elif kind == "null":
            options.append(st.none())
        elif kind == "object":
            options.append(object_for(variant, resolve))
    return st.one_of(options)


def object_for(schema: dict[str, Any], resolve: Any) -> st.SearchStrategy[Any]:
    """An object of the schema's properties, each valid or hostile, some missing, some extra."""
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    fields = {name: value_for(prop, resolve) for name, prop in properties.items()}
    body = st.fixed_dictionaries(
        {k: v for k, v in fields.items() if k in required},
        optional={k: v for k, v in fields.items() if k not in required},
    )
    extra = st.dictionaries(st.text(max_size=5), st.sampled_from(WRONG_TYPES), max_size=1)
    missing = body.flatmap(
        lambda d: st.sets(st.sampled_from(sorted(d) or [""])).map(
            lambda drop: {k: v for k, v in d.items() if k not in drop}
        )
    )
    return st.one_of(body, body, st.builds(lambda d, e: {**d, **e}, body, extra), missing)


def edges(schema: dict[str, Any], resolve: Any, salt: int = 0) -> list[Any]:
    """Fixed edge values for a schema: each control character, lone surrogates and odd
    characters inside text, whitespace-only text, every length limit and one past it, BIGINT
    bounds and beyond, non-finite numbers, and the wrong JSON types. `salt` varies the
    strings at a limit, so two operations do not collide on the same unique name."""
    schema = resolve(schema)
    variants = [resolve(v) for v in schema.get("anyOf", schema.get("oneOf", [schema]))]
    found: list[Any] = [*WRONG_TYPES]
    for variant in variants:
        kind = variant.get("type")
        if kind == "string":
            low, high = variant.get("minLength", 0), variant.get("maxLength", 64)
            found += [f"a{c}b" for c in CONTROLS + SURROGATES + ODD]
            found += [*CONTROLS, *SURROGATES, *WHITESPACE, WHITESPACE]
            for filler in FILLERS:
                for length in sorted({max(low - 1, 0), low, high, high + 1}):
                    found.append(
                        (chr(0x41 + salt % 26) + filler * length)[:length] if length else ""
                    )
        elif kind == "integer":
            found += [*EDGE_INTEGERS, "1.0", " 1", "\u0663", "0x10", "1e3"]
            for bound in (variant.get("minimum"), variant.get("maximum")):
                if bound is not None:
                    found += [bound - 1, bound, bound + 1]
        elif kind == "number":
            found += [0.001, 1e-300, 1e308, float("inf"), float("-inf"), float("nan"), 2**63]
    unique: list[Any] = []
    for value in found:
        if not any(type(value) is type(seen) and value == seen for seen in unique):
            unique.append(value)
    return unique


_EXAMPLES = itertools.count()


def example(schema: dict[str, Any], resolve: Any) -> dict[str, Any]:
    """A valid object for a body schema: documented examples, else the smallest valid value;
    strings are made unique, so that names do not collide."""
    unique = next(_EXAMPLES)
    body: dict[str, Any] = {}
    for name, prop in resolve(schema).get("properties", {}).items():
        variants = [resolve(v) for v in prop.get("anyOf", [prop])]
        first = variants[0]
        if first.get("type") == "string" and "pattern" not in first:
            body[name] = f"sweep {unique}"
        elif "examples" in prop:
            body[name] = prop["examples"][0]
        elif first.get("type") in {"integer", "number"}:
            body[name] = first.get("minimum", 0)
        elif first.get("type") == "null":
            body[name] = None
    return body


def json_bytes(value: Any) -> bytes:
    """ASCII JSON: lone surrogates go out as `\\ud800` escapes, NaN as Python writes it."""
    return json.dumps(value, ensure_ascii=True).encode()


NESTED = 10_000
# Bodies a JSON parser chokes on, and media types that are not JSON.
RAW_BODIES: list[tuple[bytes, str]] = [
    (b"", "application/json"),
    (b"{", "application/json"),
    (b"\xff\xfe\x00{}", "application/json"),
    (b'{"name": "\xed\xa0\x80"}', "application/json"),
    (b"[" * NESTED + b"]" * NESTED, "application/json"),
    (b'{"a":' * NESTED + b"1" + b"}" * NESTED, "application/json"),
    (b'{"name": "x", "price_cents": 1}', "text/plain"),
    (b"name=x&price=1", "application/x-www-form-urlencoded"),
    (b'{"name": "x", "price": "1"}', ""),
]


def raw_bodies(limit: int) -> st.SearchStrategy[tuple[bytes, str]]:
    """One of `RAW_BODIES`, or a body one byte over the limit."""
    return st.sampled_from([*RAW_BODIES, (b"x" * (limit + 1), "application/json")])


def b64(text: str) -> str:
    """Unpadded URL-safe base64, the shape of the cursors the service issues."""
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode().rstrip("=")


CURSOR_PAYLOADS = [str(n) for n in EDGE_INTEGERS] + ["", "\u0663", "1.5", " 1", "0x10", "1e3"]
# Right shape, wrong content: what a client forging or editing a cursor sends.
FORGED_CURSORS = [
    *(b64(f"id:{payload}") for payload in CURSOR_PAYLOADS),
    *(b64(payload) for payload in CURSOR_PAYLOADS),
    b64("id:1\x00"),
    b64("id:\ud800"),
    "====",
    "a",
    "\x00",
]


def cursors() -> st.SearchStrategy[str]:
    """Forged cursors: right shape, wrong content; and plain garbage of every length."""
    payloads = st.one_of(
        st.sampled_from(CURSOR_PAYLOADS),
        hostile_text(0, 40),
    )
    return st.one_of(
        st.sampled_from(FORGED_CURSORS),
        payloads.map(lambda p: b64(f"id:{p}")),
        payloads.map(b64),
        hostile_text(0, 64),
        near_limits(64, 64),
    )


def in_url(value: Any) -> str:
    """A value as one percent-encoded path segment or query value (UTF-8, surrogates kept)."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = ""
    elif isinstance(value, (list, dict)):
        text = json.dumps(value)
    else:
        text = str(value)
    return quote(text.encode("utf-8", "surrogatepass"), safe="").replace(".", "%2E")


def in_header(value: Any) -> str:
    """A value as a header field value: visible ASCII and inner spaces kept, the rest %-encoded
    (a raw CR, LF or NUL, or a space at either end, is refused by the client before anything
    reaches the server)."""
    text = value if isinstance(value, str) else json.dumps(value)
    kept = "".join(
        c if " " <= c <= "~" else quote(c.encode("utf-8", "surrogatepass")) for c in text
    )
    return re.sub(r"^ +| +$", lambda ends: "%20" * len(ends[0]), kept)
