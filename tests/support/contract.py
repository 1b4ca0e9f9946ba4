"""The OpenAPI document as an oracle: is a response one its operation documents, body and all?

Every response the fuzzer receives goes through `Contract.check`, which records the status per
operation and every departure from the document: a 5xx, a status the operation does not list,
a body that breaks its schema, a media type or a required header that is not the documented one.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
from jsonschema import Draft202012Validator

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# Faults no request can cause here: the code's own bug (500) and a database outage (503).
SERVER_SIDE = frozenset({500, 503})
# Caused by how many requests a caller sends, not by what one holds: the rate limit's 429
# (off in the fuzzed service; tests/test_rate_limit.py floods one with wrk). Any 429 that does
# come is checked against the document like every other answer.
LOAD_SIDE = frozenset({429})

Schema = dict[str, Any]


@dataclass(frozen=True)
class Operation:
    method: str  # upper case, as sent
    path: str  # the template, e.g. /api/v1/items/{item_id}
    spec: Schema

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def parameters(self, place: str) -> list[Schema]:
        return [p for p in self.spec.get("parameters", []) if p["in"] == place]

    def documented(self) -> set[int]:
        return {int(status) for status in self.spec.get("responses", {})}


@dataclass
class Violation:
    kind: str
    operation: str
    status: int
    request: str
    detail: str


@dataclass
class Contract:
    """Checks responses against one OpenAPI document and keeps the tally."""

    doc: Schema
    observed: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    violations: list[Violation] = field(default_factory=list)
    cases: int = 0
    swept: int = 0  # cases of the fixed edge sweep, before the state machine
    closed_early: int = 0  # oversized bodies whose connection closed before the 413 was read

    def operations(self) -> list[Operation]:
        return [
            Operation(method.upper(), path, item[method])
            for path, item in self.doc["paths"].items()
            for method in METHODS
            if method in item
        ]

    def methods_of(self, path: str) -> set[str]:
        return {method.upper() for method in METHODS if method in self.doc["paths"][path]}

    def resolve(self, node: Schema) -> Schema:
        while "$ref" in node:
            target: Any = self.doc
            for part in str(node["$ref"]).removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def validator(self, schema: Schema) -> Draft202012Validator:
        """OpenAPI 3.1 schemas are JSON Schema 2020-12; `$ref`s point into the document."""
        return Draft202012Validator({**schema, "components": self.doc.get("components", {})})

    def fail(self, kind: str, operation: str, response: httpx.Response, detail: str) -> None:
        request = response.request
        body = request.content[:300].decode("utf-8", "backslashreplace")
        shown = f"{request.method} {request.url.raw_path.decode('latin-1')[:300]} {body}"
        self.violations.append(Violation(kind, operation, response.status_code, shown, detail))

    def check(self, operation: Operation, response: httpx.Response) -> None:
        """Tally one response of a documented operation; record each way it breaks the doc."""
        self.cases += 1
        status = response.status_code
        self.observed[operation.key][status] += 1
        if status >= 500:
            self.fail("server error", operation.key, response, response.text[:300])
        documented = operation.spec.get("responses", {}).get(str(status))
        if documented is None:
            self.fail("undocumented status", operation.key, response, response.text[:300])
            return
        self.check_headers(operation.key, documented, response)
        self.check_body(operation, documented, response)

    def check_headers(self, key: str, documented: Schema, response: httpx.Response) -> None:
        for name, header in documented.get("headers", {}).items():
            if header.get("required") and name not in response.headers:
                self.fail("missing header", key, response, name)

    def check_body(
        self, operation: Operation, documented: Schema, response: httpx.Response
    ) -> None:
        content: Schema = documented.get("content", {})
        if not content:
            if response.content and operation.method != "HEAD":
                self.fail("undocumented body", operation.key, response, response.text[:200])
            return
        if operation.method == "HEAD":
            return
        media = response.headers.get("content-type", "").split(";")[0].strip()
        if media not in content:
            self.fail("undocumented media type", operation.key, response, media)
            return
        schema = content[media].get("schema")
        if schema is None:
            self.fail("no documented schema", operation.key, response, media)
            return
        try:
            body = json.loads(response.content)
        except ValueError:
            self.fail("body is not JSON", operation.key, response, response.text[:200])
            return
        errors = sorted(self.validator(schema).iter_errors(body), key=str)
        if errors:
            where = "/".join(map(str, errors[0].absolute_path))
            self.fail("schema violation", operation.key, response, f"{where}: {errors[0].message}")

    def check_method_not_allowed(self, path: str, response: httpx.Response) -> None:
        """A method the path does not have: 405 problem+json whose `Allow` names its methods."""
        self.cases += 1
        key = f"{response.request.method} {path} (undocumented method)"
        self.observed[key][response.status_code] += 1
        if response.status_code != 405:
            self.fail("not 405", key, response, response.text[:200])
            return
        allowed = {m.strip() for m in response.headers.get("allow", "").split(",") if m.strip()}
        if not self.methods_of(path) <= allowed:
            self.fail("Allow incomplete", key, response, str(sorted(allowed)))
        problem = self.doc["components"]["schemas"]["Problem"]
        if response.headers.get("content-type") != "application/problem+json":
            self.fail("405 not a problem", key, response, response.headers.get("content-type", ""))
        elif errors := list(self.validator(problem).iter_errors(response.json())):
            self.fail("schema violation", key, response, errors[0].message)

    def unobserved(self) -> dict[str, list[int]]:
        """Documented statuses no request produced, besides faults of the server's own and
        answers to load."""
        missing: dict[str, list[int]] = {}
        for operation in self.operations():
            never = operation.documented() - set(self.observed[operation.key])
            never -= SERVER_SIDE | LOAD_SIDE
            if never:
                missing[operation.key] = sorted(never)
        return missing

    def summary(self) -> str:
        kinds = Counter(f"{v.kind} ({v.operation} -> {v.status})" for v in self.violations)
        lines = [f"{count:5d} x {kind}" for kind, count in kinds.most_common()]
        seen: set[str] = set()
        for violation in self.violations:
            key = f"{violation.kind} {violation.operation} {violation.status}"
            if key in seen:
                continue
            seen.add(key)
            lines.append(f"e.g. {violation.kind}: {violation.request} -> {violation.detail}")
        return "\n".join(lines)
