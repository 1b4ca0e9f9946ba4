"""The committed OpenAPI snapshot matches the app; the compatibility check guards every version."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from scripts import openapi

Spec = dict[str, Any]


@pytest.fixture(scope="module")
def spec() -> Spec:
    return openapi.current_spec()


def test_committed_snapshot_matches_the_app(spec: Spec) -> None:
    """Fails on any API change until `make openapi` is run and the result committed."""
    committed = json.loads(openapi.SNAPSHOT.read_text(encoding="utf-8"))
    assert committed == spec, "openapi.json is stale: run `make openapi` and review the diff"


def test_unchanged_schema_has_no_breaking_change(spec: Spec) -> None:
    assert openapi.breaking_changes(spec, copy.deepcopy(spec)) == []


def item_v1(spec: Spec) -> Spec:
    return spec["components"]["schemas"]["ItemV1"]  # type: ignore[no-any-return]


def test_removed_v1_operation_is_breaking(spec: Spec) -> None:
    new = copy.deepcopy(spec)
    del new["paths"]["/api/v1/items/{item_id}"]["delete"]
    problems = openapi.breaking_changes(spec, new)
    assert problems == ["DELETE /api/v1/items/{item_id}: operation removed"]


def test_removed_or_retyped_v1_response_field_is_breaking(spec: Spec) -> None:
    removed = copy.deepcopy(spec)
    del item_v1(removed)["properties"]["name"]
    assert any("name: response field removed" in p for p in openapi.breaking_changes(spec, removed))

    retyped = copy.deepcopy(spec)
    item_v1(retyped)["properties"]["id"] = {"type": "string", "title": "Id"}
    assert any(".id: type" in p for p in openapi.breaking_changes(spec, retyped))

    optional = copy.deepcopy(spec)
    item_v1(optional)["required"].remove("name")
    assert any("no longer always present" in p for p in openapi.breaking_changes(spec, optional))


def test_new_required_v1_input_is_breaking(spec: Spec) -> None:
    new = copy.deepcopy(spec)
    new["paths"]["/api/v1/items"]["get"]["parameters"].append(
        {"name": "tenant", "in": "query", "required": True, "schema": {"type": "string"}}
    )
    body = new["components"]["schemas"]["ItemCreateV1"]
    body["properties"]["sku"] = {"type": "string"}
    body["required"].append("sku")
    body["required"].remove("price")
    body["required"].append("description")
    problems = openapi.breaking_changes(spec, new)
    assert any("parameter 'tenant': new required parameter" in p for p in problems)
    assert any("sku: new required request field" in p for p in problems)
    assert any("description: request field became required" in p for p in problems)
    # Making a field optional in a request is not breaking.
    assert not any(".price" in p for p in problems)


def test_removed_success_response_and_path_parameter_are_breaking(spec: Spec) -> None:
    new = copy.deepcopy(spec)
    operation = new["paths"]["/api/v1/items/{item_id}"]["get"]
    del operation["responses"]["200"]
    operation["parameters"] = []
    problems = openapi.breaking_changes(spec, new)
    assert "GET /api/v1/items/{item_id} response 200: removed" in problems
    assert "GET /api/v1/items/{item_id} path parameter 'item_id': removed" in problems


def test_changed_parameter_and_body_are_breaking(spec: Spec) -> None:
    new = copy.deepcopy(spec)
    get = new["paths"]["/api/v1/items"]["get"]
    get["parameters"][0]["schema"] = {"type": "string"}
    get["parameters"][1]["required"] = True
    post = new["paths"]["/api/v1/items"]["post"]
    post["responses"]["201"]["content"] = {"text/plain": {}}
    delete = new["paths"]["/api/v1/items/{item_id}"]["delete"]
    delete["requestBody"] = {"required": True, "content": {"application/json": {"schema": {}}}}
    problems = openapi.breaking_changes(spec, new)
    assert any("query parameter 'offset': type" in p for p in problems)
    assert any("query parameter 'limit': became required" in p for p in problems)
    assert any("response 201: JSON body removed" in p for p in problems)
    assert any("request body: new and required" in p for p in problems)


def test_additions_and_unversioned_paths_are_not_breaking(spec: Spec) -> None:
    new = copy.deepcopy(spec)
    item_v1(new)["properties"]["sku"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    new["paths"]["/api/v1/items"]["get"]["parameters"].append(
        {"name": "q", "in": "query", "required": False, "schema": {"type": "string"}}
    )
    new["paths"]["/api/v2/extra"] = {"get": {"responses": {"200": {"description": "OK"}}}}
    del new["paths"]["/livez"]
    assert openapi.breaking_changes(spec, new) == []


def test_the_current_version_is_guarded_too(spec: Spec) -> None:
    """v2's clients are owed what v1's are: its additions are free, its removals are not."""
    new = copy.deepcopy(spec)
    del new["paths"]["/api/v2/items"]["post"]
    assert openapi.breaking_changes(spec, new) == ["POST /api/v2/items: operation removed"]


def test_command_line(spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = tmp_path / "openapi.json"
    monkeypatch.setattr(openapi, "SNAPSHOT", snapshot)
    assert openapi.main(["write"]) == 0
    assert openapi.main(["check"]) == 0
    assert openapi.main(["breaking", str(snapshot)]) == 0

    old = copy.deepcopy(spec)
    old["paths"]["/api/v1/gone"] = {"get": {"responses": {"200": {"description": "OK"}}}}
    snapshot.write_text(openapi.dump(old), encoding="utf-8")
    assert openapi.main(["check"]) == 1
    assert openapi.main(["breaking", str(snapshot)]) == 1

    snapshot.write_text("not json", encoding="utf-8")
    assert openapi.main(["breaking", str(snapshot)]) == 2  # one line, no traceback
    assert openapi.main(["breaking", str(tmp_path / "missing.json")]) == 2


PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
ITEM_STATUSES = {
    ("get", "/api/{v}/items"): {200, 401, 403, 413, 422, 500, 503},
    ("post", "/api/{v}/items"): {201, 400, 401, 403, 409, 413, 415, 422, 500, 503},
    ("get", "/api/{v}/items/{item_id}"): {200, 304, 401, 403, 404, 413, 422, 500, 503},
    ("delete", "/api/{v}/items/{item_id}"): {204, 401, 403, 404, 412, 413, 422, 500, 503},
}


def test_every_error_response_is_a_documented_problem(spec: Spec) -> None:
    """Clients and fuzzers read the body of an error from the document (it said `{}`)."""
    assert set(spec["components"]["schemas"]["Problem"]["required"]) >= {"status", "title"}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert response["content"] == PROBLEM, (method, path, status)


def test_each_item_operation_documents_exactly_its_statuses(spec: Spec) -> None:
    """No 404 on a list or 409 on a read; 413, 415 and 500 where they can happen."""
    for version in ("v1", "v2"):
        for (method, template), statuses in ITEM_STATUSES.items():
            path = template.format(v=version, item_id="{item_id}")
            documented = {int(s) for s in spec["paths"][path][method]["responses"]}
            # v2 refuses query parameters an operation does not have (and cursors it did not issue)
            unknown_parameter = {400} if version == "v2" else set()
            rate_limited = {429}  # every operation (api/rate_limit.py)
            assert documented == statuses | unknown_parameter | rate_limited, (method, path)


def test_v1_responses_document_the_deprecation_headers(spec: Spec) -> None:
    for path, item in spec["paths"].items():
        for operation in item.values():
            for response in operation["responses"].values():
                headers = set(response.get("headers", {}))
                if path.startswith("/api/v1/"):
                    assert {"Deprecation", "Sunset", "Link"} <= headers, path
                else:
                    assert not headers & {"Deprecation", "Sunset", "Link"}, path


def test_links_lead_from_a_create_to_the_item_and_carry_its_etag(spec: Spec) -> None:
    """Each link names an operation of the document and fills every parameter it requires."""
    operations = {op["operationId"]: op for item in spec["paths"].values() for op in item.values()}
    created = spec["paths"]["/api/v2/items"]["post"]["responses"]["201"]["links"]
    assert {operations[link["operationId"]]["summary"] for link in created.values()} >= {
        "Get Item",
        "Delete Item",
    }
    for path, item in spec["paths"].items():
        for operation in item.values():
            for response in operation["responses"].values():
                for link in response.get("links", {}).values():
                    target = operations[link["operationId"]]
                    required = {
                        (p["in"], p["name"]) for p in target.get("parameters", []) if p["required"]
                    }
                    given = {
                        tuple(name.split(".", 1)) if "." in name else ("path", name)
                        for name in link["parameters"]
                    }
                    assert required <= given, (path, link)


def test_every_item_operation_documents_its_rate_limit_fields(spec: Spec) -> None:
    """429 with `Retry-After` and the draft's fields; a success may carry them too."""
    api = {path: item for path, item in spec["paths"].items() if path.startswith("/api/")}
    assert api
    for path, item in api.items():
        for operation in item.values():
            responses = operation["responses"]
            limited = set(responses["429"]["headers"])
            assert limited >= {"Retry-After", "RateLimit", "RateLimit-Policy"}, path
            success = next(r for s, r in responses.items() if s.startswith("2"))
            assert {"RateLimit", "RateLimit-Policy"} <= set(success["headers"]), path
