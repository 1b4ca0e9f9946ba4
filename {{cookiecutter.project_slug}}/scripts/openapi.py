"""The committed OpenAPI snapshot (`openapi.json`) and the check for breaking changes.

    python scripts/openapi.py write            # regenerate openapi.json from the app (make openapi)
    python scripts/openapi.py check            # fail when the app no longer matches openapi.json
    python scripts/openapi.py breaking BASE    # fail on a breaking change to /api/vN since BASE

`breaking` compares BASE (e.g. openapi.json of the target branch) with the app's current
schema, for every published version (`/api/v1`, `/api/v2`...: a client of the current one is
owed the same as a client of a deprecated one). Breaking, for a client of a published version:
a removed path, operation or success response; a new required parameter or request field; a
parameter or field whose type changed; a response field removed or no longer always present.
Additions are not breaking.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "openapi.json"
PUBLISHED = re.compile(r"/api/v[0-9]+(/|$)")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
MAX_DEPTH = 32

Schema = dict[str, Any]


def current_spec() -> Schema:
    """The schema the app serves at /openapi.json, independent of the environment."""
    from {{ cookiecutter.package_name }}.app import create_app  # noqa: PLC0415 - only here
    from {{ cookiecutter.package_name }}.settings import Settings  # noqa: PLC0415

    return create_app(Settings(_env_file=None)).openapi()


def dump(spec: Schema) -> str:
    """Stable text: reviewers read the diff of this file in pull requests."""
    return json.dumps(spec, indent=2, ensure_ascii=False) + "\n"


class Resolver:
    """Follows local `$ref`s of one document and reads a schema's types and fields."""

    def __init__(self, spec: Schema) -> None:
        self.spec = spec

    def deref(self, node: Schema) -> Schema:
        """The schema a `$ref` points to (or the node itself)."""
        seen = 0
        while "$ref" in node and seen < MAX_DEPTH:
            target: Any = self.spec
            for part in str(node["$ref"]).removeprefix("#/").split("/"):
                target = target[part]
            node = target
            seen += 1
        return node

    def variants(self, node: Schema) -> list[Schema]:
        """The alternatives of a union (`anyOf`/`oneOf`), each dereferenced."""
        node = self.deref(node)
        for key in ("anyOf", "oneOf"):
            if key in node:
                return [v for sub in node[key] for v in self.variants(sub)]
        return [node]

    def types(self, node: Schema) -> set[str]:
        """JSON types a value may have; an object schema also names its title."""
        found: set[str] = set()
        for variant in self.variants(node):
            kind = variant.get("type")
            kinds = kind if isinstance(kind, list) else [kind or "any"]
            found.update(str(k) for k in kinds)
        return found

    def fields(self, node: Schema) -> tuple[dict[str, Schema], set[str]]:
        """Properties and required names of an object schema (first object variant)."""
        for variant in self.variants(node):
            if "properties" in variant:
                return dict(variant["properties"]), set(variant.get("required", []))
        return {}, set()


def operations(spec: Schema) -> Iterator[tuple[str, str, Schema]]:
    """(path, method, operation) of every published version."""
    for path, item in spec.get("paths", {}).items():
        if PUBLISHED.match(path):
            for method in METHODS:
                if method in item:
                    yield path, method, item[method]


def compare_schemas(  # noqa: PLR0913 - one recursive walk, every argument is needed
    where: str,
    old: Schema,
    new: Schema,
    old_r: Resolver,
    new_r: Resolver,
    *,
    request: bool,
    depth: int = 0,
) -> list[str]:
    """Breaking differences between two schemas of a request (`request`) or a response body."""
    if depth > MAX_DEPTH:
        return []
    problems: list[str] = []
    old_types, new_types = old_r.types(old), new_r.types(new)
    if "any" not in old_types and "any" not in new_types:
        # A request may accept more types; a response may return fewer, never the reverse.
        lost = old_types - new_types if request else new_types - old_types
        if lost:
            problems.append(f"{where}: type {sorted(old_types)} -> {sorted(new_types)}")
            return problems
    old_props, old_required = old_r.fields(old)
    new_props, new_required = new_r.fields(new)
    for name in sorted(new_props.keys() | old_props.keys()):
        at = f"{where}.{name}"
        if name not in new_props:
            if not request:
                problems.append(f"{at}: response field removed")
            continue
        if name not in old_props:
            if request and name in new_required:
                problems.append(f"{at}: new required request field")
            continue
        if request and name in new_required and name not in old_required:
            problems.append(f"{at}: request field became required")
        if not request and name in old_required and name not in new_required:
            problems.append(f"{at}: response field no longer always present")
        problems += compare_schemas(
            at, old_props[name], new_props[name], old_r, new_r, request=request, depth=depth + 1
        )
    old_items = next((v["items"] for v in old_r.variants(old) if "items" in v), None)
    new_items = next((v["items"] for v in new_r.variants(new) if "items" in v), None)
    if old_items is not None and new_items is not None:
        problems += compare_schemas(
            f"{where}[]", old_items, new_items, old_r, new_r, request=request, depth=depth + 1
        )
    return problems


def json_body(node: Schema | None, resolver: Resolver) -> Schema | None:
    """The JSON schema of a request body or response, if it has one."""
    if node is None:
        return None
    content = resolver.deref(node).get("content", {})
    for media, body in content.items():
        if "json" in media and "schema" in body:
            return dict(body["schema"])
    return None


def compare_parameters(
    where: str, old: Schema, new: Schema, old_r: Resolver, new_r: Resolver
) -> list[str]:
    """New required, newly required, retyped or removed path parameters."""
    problems: list[str] = []
    old_params = {(p["in"], p["name"]): p for p in map(old_r.deref, old.get("parameters", []))}
    new_params = {(p["in"], p["name"]): p for p in map(new_r.deref, new.get("parameters", []))}
    for key, param in new_params.items():
        at = f"{where} {key[0]} parameter {key[1]!r}"
        before = old_params.get(key)
        if before is None:
            if param.get("required"):
                problems.append(f"{at}: new required parameter")
            continue
        if param.get("required") and not before.get("required"):
            problems.append(f"{at}: became required")
        problems += compare_schemas(
            at, before.get("schema", {}), param.get("schema", {}), old_r, new_r, request=True
        )
    problems += [
        f"{where} path parameter {name!r}: removed"
        for place, name in old_params.keys() - new_params.keys()
        if place == "path"
    ]
    return problems


def compare_request(
    where: str, old: Schema, new: Schema, old_r: Resolver, new_r: Resolver
) -> list[str]:
    """A new required body, or breaking changes to the JSON body."""
    old_body = json_body(old.get("requestBody"), old_r)
    new_body = json_body(new.get("requestBody"), new_r)
    if new_body is None:
        return []
    if old_body is None:
        required = new_r.deref(new.get("requestBody", {})).get("required", False)
        return [f"{where} request body: new and required"] if required else []
    return compare_schemas(f"{where} request", old_body, new_body, old_r, new_r, request=True)


def compare_responses(
    where: str, old: Schema, new: Schema, old_r: Resolver, new_r: Resolver
) -> list[str]:
    """Removed success responses, and breaking changes to their JSON bodies."""
    problems: list[str] = []
    new_responses = new.get("responses", {})
    for status, response in old.get("responses", {}).items():
        if not str(status).startswith("2"):
            continue
        at = f"{where} response {status}"
        if status not in new_responses:
            problems.append(f"{at}: removed")
            continue
        old_schema = json_body(response, old_r)
        new_schema = json_body(new_responses[status], new_r)
        if old_schema is None:
            continue
        if new_schema is None:
            problems.append(f"{at}: JSON body removed")
        else:
            problems += compare_schemas(at, old_schema, new_schema, old_r, new_r, request=False)
    return problems


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """Every breaking change to a published version between two OpenAPI documents."""
    old_r, new_r = Resolver(old), Resolver(new)
    new_ops = {(path, method): op for path, method, op in operations(new)}
    problems: list[str] = []
    for path, method, op in operations(old):
        where = f"{method.upper()} {path}"
        if (path, method) not in new_ops:
            problems.append(f"{where}: operation removed")
            continue
        for compare in (compare_parameters, compare_request, compare_responses):
            problems += compare(where, op, new_ops[path, method], old_r, new_r)
    return problems


def main(argv: list[str] | None = None) -> int:
    """Command line; returns the exit status."""
    parser = argparse.ArgumentParser(description="OpenAPI snapshot and compatibility.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("write", help="regenerate openapi.json from the app")
    sub.add_parser("check", help="fail when the app no longer matches openapi.json")
    breaking = sub.add_parser("breaking", help="fail on a breaking change to /api/vN")
    breaking.add_argument("base", type=Path, help="the OpenAPI document to compare against")
    args = parser.parse_args(argv)

    spec = current_spec()
    if args.command == "write":
        SNAPSHOT.write_text(dump(spec), encoding="utf-8")
        print(f"wrote {SNAPSHOT.name}")
        return 0
    if args.command == "check":
        committed = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
        if committed == spec:
            print(f"{SNAPSHOT.name} matches the app")
            return 0
        problems = breaking_changes(committed, spec)
        print(f"error: the app's OpenAPI schema differs from {SNAPSHOT.name}.", file=sys.stderr)
        for problem in problems:
            print(f"  breaking: {problem}", file=sys.stderr)
        print("Review the change, then run `make openapi` and commit it.", file=sys.stderr)
        return 1
    try:
        base = json.loads(args.base.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"error: {args.base} is not a readable OpenAPI document: {exc}", file=sys.stderr)
        return 2
    problems = breaking_changes(base, spec)
    for problem in problems:
        print(f"breaking: {problem}", file=sys.stderr)
    if problems:
        print(f"error: {len(problems)} breaking change(s) to a published version", file=sys.stderr)
        return 1
    print("no breaking change to a published version")
    return 0


if __name__ == "__main__":
    sys.exit(main())
