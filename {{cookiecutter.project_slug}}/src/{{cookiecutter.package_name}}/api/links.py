"""OpenAPI links: how a client gets from a response to the operations it enables.

A create's 201 leads to the new item's read, update and delete (its `id` from the body); a read
to the item's update and delete, an update to all three, each with the `ETag` it answered as
the next `If-Match`. Code generators and stateful fuzzers (schemathesis's stateful phase)
follow them, so a create -> update -> read -> delete sequence is tested with real ids and real
validators.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

Schema = dict[str, Any]
_ITEM_PARAM = r"/\{(?P<param>[A-Za-z_][A-Za-z0-9_]*)\}"  # what follows a collection's path


def links_to(operations: Schema, param: str, value: str) -> Schema:
    """A link to each operation of an item path; `value` locates the item's id."""
    links: Schema = {}
    for operation in operations.values():
        parameters: dict[str, str] = {param: value}
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        if "If-Match" in headers:  # the validator the response carried
            parameters["header.If-Match"] = "$response.header.ETag"
        links[operation["operationId"]] = {
            "operationId": operation["operationId"],
            "parameters": parameters,
        }
    return links


def add_links(spec: Schema) -> None:
    """Links from each collection's create and from each item's read and update."""
    paths: dict[str, Schema] = spec.get("paths", {})
    for collection, item in paths.items():
        pattern = re.compile(re.escape(collection) + _ITEM_PARAM)
        for path, operations in paths.items():
            if (match := pattern.fullmatch(path)) is None:
                continue
            param = match["param"]
            if (created := item.get("post", {}).get("responses", {}).get("201")) is not None:
                created["links"] = links_to(operations, param, "$response.body#/id")
            same_item = f"$request.path.{param}"
            if (read := operations.get("get", {}).get("responses", {}).get("200")) is not None:
                others = {method: op for method, op in operations.items() if method != "get"}
                read["links"] = links_to(others, param, same_item)
            if (updated := operations.get("patch", {}).get("responses", {}).get("200")) is not None:
                updated["links"] = links_to(operations, param, same_item)  # and the next update


def document_links(app: FastAPI) -> None:
    """Add the links to the app's OpenAPI document when it is first built."""
    build: Callable[[], Schema] = app.openapi

    def openapi() -> Schema:
        if app.openapi_schema is None:
            spec = build()
            add_links(spec)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign] # FastAPI's documented way to extend it
