"""A stateful fuzzer over every operation of a served generated project (Hypothesis).

Rules create, read, update (v2), list and delete items through v1 and v2 with valid data and
the validators the service answered (ETag, If-Match, If-None-Match), so that the state is real
(ids, cursors, versions), and send hostile requests to every documented operation and methods
no path has. Against a service that checks tokens (`Callers`), valid rules carry a token
with every scope and hostile requests draw their caller too: that token, one lacking a scope,
none, or a malformed one. `Contract` checks every response; the model checks the state: a created
item reads back as created, a deleted one is 404 everywhere, pages list exactly the live items.
Violations are collected, not raised, so one run reports all of them at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from tests.support import hostile
from tests.support.contract import Contract, Operation

VERSIONS = ("v1", "v2")
MERGE_PATCH = "application/merge-patch+json"
UNDOCUMENTED_METHODS = ("PUT", "PATCH", "OPTIONS", "TRACE", "POST", "DELETE")
# Conditional headers a hostile request may carry (or not): any version, version 1 (what a new
# item is at), others, a weak tag (never matches If-Match), unreadable ones.
CONDITIONS = (None, None, "*", '"1"', '"2"', '"0"', 'W/"1"', '"x"', "")
# Who a hostile request comes as: mostly the full token, so that most reach the routes.
HOSTILE_CALLERS = ("full", "full", "full", "full", "items:read", "items:write", "none", "junk")


@dataclass(frozen=True)
class Callers:
    """Bearer tokens for a service that checks them: every scope, and each scope alone."""

    full: str
    by_scope: dict[str, str]

    def header(self, caller: str) -> dict[str, str]:
        """The Authorization header of `caller` ("none": no header at all)."""
        token = {"full": self.full, "junk": "not-a.jwt-at.all", **self.by_scope}.get(caller)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def lacking(self, scopes: list[str]) -> str:
        """A caller whose token grants none of `scopes`."""
        return next(scope for scope in self.by_scope if scope not in scopes)


@dataclass
class Model:
    """What the service must hold: live items by id (as created), and deleted ids."""

    live: dict[int, dict[str, Any]] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)


@dataclass
class Target:
    client: httpx.Client
    contract: Contract
    model: Model
    body_limit: int
    callers: Callers | None = None

    def send(
        self,
        operation: Operation,
        path: str,
        query: str = "",
        body: bytes | None = None,
        media: str = "application/json",
        *,
        caller: str = "full",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = dict(headers or {})
        headers |= {"content-type": media} if body is not None and media else {}
        headers |= self.callers.header(caller) if self.callers else {}
        url = path + (f"?{query}" if query else "")
        try:
            response = self.client.request(operation.method, url, content=body, headers=headers)
        except httpx.TransportError as exc:
            if body is not None and len(body) > self.body_limit:
                # The 413 is sent before the body is read; closing the connection then may
                # reset it under a client still sending (RFC 9110 15.5.14 allows the close).
                self.contract.closed_early += 1
                return httpx.Response(413, request=exc.request)
            # Any other dropped connection is a failure, recorded as a status no doc lists.
            request = httpx.Request(operation.method, self.client.base_url.join(url), content=body)
            response = httpx.Response(599, request=request, text=f"{type(exc).__name__}: {exc}")
        self.contract.check(operation, response)
        return response

    def state(self, operation: Operation, response: httpx.Response, detail: str) -> None:
        self.contract.fail("state", operation.key, response, detail)

    def resync(self) -> None:
        """Rebuild the live items from v2's pages (after a hostile create or delete)."""
        op = next(o for o in self.contract.operations() if o.key == "GET /api/v2/items")
        live: dict[int, dict[str, Any]] = {}
        query = "limit=100"
        while True:
            page = self.send(op, "/api/v2/items", query)
            if page.status_code != 200:
                self.state(op, page, "a cursor this API issued was refused")
                return
            listed = page.json()
            for item in listed["items"]:
                live[item["id"]] = self.model.live.get(item["id"]) or {
                    "version": "v2",
                    "body": item,
                }
            if listed["next_cursor"] is None:
                break
            query = f"limit=100&cursor={hostile.in_url(listed['next_cursor'])}"
        self.model.deleted |= self.model.live.keys() - live.keys()
        self.model.live = live


def machine_for(target: Target) -> type[RuleBasedStateMachine]:  # noqa: PLR0915 - one closure: the rules share the target and model
    """A state machine class bound to one served project."""
    contract, model = target.contract, target.model
    ops = {op.key: op for op in contract.operations()}
    every = sorted(ops.values(), key=lambda op: op.key)
    item_ops = {
        (version, method, single): ops[
            f"{method} /api/{version}/items" + ("/{item_id}" if single else "")
        ]
        for version in VERSIONS
        for method, single in (("GET", False), ("POST", False), ("GET", True), ("DELETE", True))
    }
    patch_op = ops["PATCH /api/v2/items/{item_id}"]
    paths = sorted(contract.doc["paths"])
    names = st.from_regex(r"[A-Za-z][A-Za-z0-9 -]{0,40}[A-Za-z0-9]", fullmatch=True)
    prices = {
        "v1": st.one_of(
            st.from_regex(r"[0-9]{1,6}\.[0-9]{2}", fullmatch=True),
            st.integers(0, 100_000_000).map(lambda cents: cents / 100),
        ),
        "v2": st.integers(0, 100_000_000),
    }

    def known_id(data: st.DataObject) -> int:
        """An id the model knows. The draw never depends on the state (Hypothesis replays
        draws, and the database outlives each example): an index, reduced to the ids known."""
        index = data.draw(st.integers(0, 2**16))
        ids = sorted(model.live.keys() | model.deleted)
        return ids[index % len(ids)] if ids else 1

    def learn_update(response: httpx.Response) -> None:
        """A PATCH answered 200: the item now reads as it answered (in v2)."""
        updated = response.json()
        model.live[updated["id"]] = {"version": "v2", "body": updated}

    def send_hostile(data: st.DataObject) -> None:
        """Any documented operation, every parameter and body field drawn hostile or valid."""
        op = data.draw(st.sampled_from(every))
        path = op.path
        for param in op.parameters("path"):
            value = data.draw(
                st.one_of(
                    st.just(known_id(data)), hostile.value_for(param["schema"], contract.resolve)
                ).filter(lambda v: hostile.in_url(v) != "")
            )
            path = path.replace("{" + param["name"] + "}", hostile.in_url(value))
        pairs = []
        for param in op.parameters("query"):
            if data.draw(st.booleans()):
                strategy = hostile.value_for(param["schema"], contract.resolve)
                if param["name"] == "cursor":
                    strategy = st.one_of(strategy, hostile.cursors())
                pairs.append(f"{param['name']}={hostile.in_url(data.draw(strategy))}")
        body, media = None, "application/json"
        request_body = op.spec.get("requestBody")
        if request_body is not None:
            own_media, schema = body_schema(request_body)
            body, media = data.draw(
                st.one_of(
                    hostile.value_for(schema, contract.resolve).map(
                        lambda v: (hostile.json_bytes(v), own_media)
                    ),
                    hostile.raw_bodies(target.body_limit).map(
                        lambda raw: (raw[0], as_own(raw[1], own_media))
                    ),
                )
            )
        elif data.draw(st.integers(0, 9)) == 0:  # now and then a body where none belongs
            body = b"x" * (target.body_limit + 1)
        headers = {}
        for param in op.parameters("header"):
            values = st.one_of(
                st.sampled_from(CONDITIONS),
                hostile.value_for(param["schema"], contract.resolve).map(hostile.in_header),
            )
            if (value := data.draw(values)) is not None:
                headers[param["name"]] = value
        caller = data.draw(st.sampled_from(HOSTILE_CALLERS)) if target.callers else "full"
        response = target.send(
            op, path, "&".join(pairs), body, media, caller=caller, headers=headers
        )
        if response.status_code in {201, 204}:  # a hostile request that wrote: learn what
            target.resync()
        elif op.method == "PATCH" and response.status_code == 200:
            learn_update(response)

    def hostile_rule() -> Any:
        """A rule sending one hostile request; the class registers it more than once."""

        def hostile_request(self: RuleBasedStateMachine, data: st.DataObject) -> None:
            send_hostile(data)

        return rule(data=st.data())(hostile_request)

    class ServiceMachine(RuleBasedStateMachine):
        @rule(version=st.sampled_from(VERSIONS), data=st.data())
        def create(self, version: str, data: st.DataObject) -> None:
            price = "price" if version == "v1" else "price_cents"
            body = {"name": data.draw(names), price: data.draw(prices[version])}
            if data.draw(st.booleans()):
                body["description"] = data.draw(
                    st.text(
                        st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), max_size=50
                    )
                )
            op, path = item_ops[version, "POST", False], f"/api/{version}/items"
            # Now and then with an Idempotency-Key, sent twice: the retry is the first answer.
            key = data.draw(st.none() | st.uuids().map(str))
            headers = {"Idempotency-Key": key} if key else {}
            response = target.send(op, path, body=hostile.json_bytes(body), headers=headers)
            if response.status_code == 201:
                created = response.json()
                model.live[created["id"]] = {"version": version, "body": created}
            if key and response.status_code == 201:
                again = target.send(op, path, body=hostile.json_bytes(body), headers=headers)
                first = (201, created, response.headers.get("location"), "true")
                location, replay = (
                    again.headers.get("location"),
                    again.headers.get("idempotent-replayed"),
                )
                if (again.status_code, again.json(), location, replay) != first:
                    target.state(op, again, f"a retry with Idempotency-Key {key} was not a replay")

        @rule(version=st.sampled_from(VERSIONS), data=st.data())
        def read(self, version: str, data: st.DataObject) -> None:
            item_id = known_id(data)
            op = item_ops[version, "GET", True]
            response = target.send(op, f"/api/{version}/items/{item_id}")
            expect_live(op, response, item_id, version)

        @rule(version=st.sampled_from(VERSIONS), data=st.data())
        def delete(self, version: str, data: st.DataObject) -> None:
            item_id = known_id(data)
            op = item_ops[version, "DELETE", True]
            was_live = item_id in model.live
            response = target.send(op, f"/api/{version}/items/{item_id}")
            wanted = 204 if was_live else 404
            if (was_live or item_id in model.deleted) and response.status_code != wanted:
                target.state(
                    op,
                    response,
                    f"DELETE of a {'live' if was_live else 'deleted'} item: {wanted} expected",
                )
            if response.status_code == 204:
                model.live.pop(item_id, None)
                model.deleted.add(item_id)
                after = target.send(
                    item_ops[version, "GET", True], f"/api/{version}/items/{item_id}"
                )
                expect_live(item_ops[version, "GET", True], after, item_id, version)

        @rule(data=st.data())
        def update(self, data: st.DataObject) -> None:
            """A merge patch with the ETag a read gave: applied once (409 for a name another
            item has), then refused with 412 when sent again with the same ETag."""
            item_id = known_id(data)
            url = f"/api/v2/items/{item_id}"
            read = target.send(item_ops["v2", "GET", True], url)
            body: dict[str, Any] = {"price_cents": data.draw(prices["v2"])}
            # Every draw is made whatever the state (see `known_id`); the state picks after.
            collide, other = data.draw(st.integers(0, 3)) == 0, data.draw(st.integers(0, 2**16))
            others = sorted(str(i["body"]["name"]) for k, i in model.live.items() if k != item_id)
            collide = collide and bool(others)
            if collide:
                body["name"] = others[other % len(others)]
            elif data.draw(st.booleans()):
                body["name"] = data.draw(names)
            if data.draw(st.booleans()):
                body["description"] = data.draw(
                    st.none() | st.text(max_size=20).filter(str.isalnum)
                )
            headers = {"If-Match": read.headers.get("etag", '"1"')}
            op = patch_op
            response = target.send(
                op, url, body=hostile.json_bytes(body), media=MERGE_PATCH, headers=headers
            )
            if item_id not in model.live:
                if item_id in model.deleted and response.status_code != 404:
                    target.state(op, response, "PATCH of a deleted item: 404 expected")
                return
            if collide and response.status_code != 409:
                target.state(op, response, "PATCH to another item's name: 409 expected")
            if response.status_code not in {200, 409}:
                target.state(op, response, "PATCH with the current ETag: 200 expected")
            if response.status_code != 200:
                return
            learn_update(response)
            if response.headers.get("etag") == headers["If-Match"]:
                target.state(op, response, "the ETag did not change with the item")
            again = target.send(
                op, url, body=hostile.json_bytes(body), media=MERGE_PATCH, headers=headers
            )
            if again.status_code != 412:
                target.state(op, again, "PATCH with a replaced ETag: 412 expected")

        @rule(version=st.sampled_from(VERSIONS), data=st.data())
        def read_again(self, version: str, data: st.DataObject) -> None:
            """A read with the ETag the previous one gave: 304, no body."""
            item_id = known_id(data)
            op = item_ops[version, "GET", True]
            url = f"/api/{version}/items/{item_id}"
            read = target.send(op, url)
            if read.status_code == 200:
                again = target.send(op, url, headers={"If-None-Match": read.headers["etag"]})
                if again.status_code != 304:
                    target.state(op, again, "a read with the current ETag: 304 expected")

        @rule(version=st.sampled_from(VERSIONS), data=st.data())
        def delete_another_version(self, version: str, data: st.DataObject) -> None:
            """A delete on a version no item is at: 412 for a live item, which stays."""
            item_id = known_id(data)
            op = item_ops[version, "DELETE", True]
            response = target.send(
                op, f"/api/{version}/items/{item_id}", headers={"If-Match": '"0"'}
            )
            if item_id in model.live and response.status_code != 412:
                target.state(op, response, "DELETE with If-Match of no version: 412 expected")
            elif item_id in model.deleted and response.status_code != 404:
                target.state(op, response, "DELETE of a deleted item: 404 expected")

        @rule()
        def list_everything(self) -> None:
            """v1's total and v2's pages, followed to the end, name exactly the live items."""
            v1 = target.send(item_ops["v1", "GET", False], "/api/v1/items", "limit=1")
            if v1.status_code == 200 and v1.json()["total"] != len(model.live):
                target.state(item_ops["v1", "GET", False], v1, f"total is not {len(model.live)}")
            seen: list[int] = []
            query = "limit=100"
            op = item_ops["v2", "GET", False]
            for _ in range(1 + len(model.live) // 100 + 1):
                page = target.send(op, "/api/v2/items", query)
                if page.status_code != 200:
                    target.state(op, page, "a cursor this API issued was refused")
                    return
                listed = page.json()
                seen += [item["id"] for item in listed["items"]]
                if listed["next_cursor"] is None:
                    break
                query = f"limit=100&cursor={hostile.in_url(listed['next_cursor'])}"
            if sorted(seen) != sorted(model.live):
                target.state(op, page, f"pages list {len(seen)} items, {len(model.live)} are live")

        hostile_request = hostile_rule()

        # Hypothesis picks rules evenly: hostile requests get four of the twelve.
        hostile_again = hostile_rule()
        hostile_once_more = hostile_rule()
        hostile_and_again = hostile_rule()

        @rule(
            path=st.sampled_from(paths),
            method=st.sampled_from(UNDOCUMENTED_METHODS),
            data=st.data(),
        )
        def undocumented_method(self, path: str, method: str, data: st.DataObject) -> None:
            if method in contract.methods_of(path):
                return
            url = path.replace("{item_id}", str(known_id(data)))
            try:
                response = target.client.request(method, url)
            except httpx.HTTPError as exc:
                response = httpx.Response(
                    599,
                    request=httpx.Request(method, target.client.base_url.join(url)),
                    text=repr(exc),
                )
            contract.check_method_not_allowed(path, response)

    def expect_live(op: Operation, response: httpx.Response, item_id: int, version: str) -> None:
        if item_id in model.live:
            if response.status_code != 200:
                target.state(op, response, "a live item did not read back")
            elif (created := model.live[item_id])[
                "version"
            ] == version and response.json() != created["body"]:
                target.state(
                    op, response, f"read {response.text[:200]} != created {created['body']}"
                )
        elif item_id in model.deleted and response.status_code != 404:
            target.state(op, response, "a deleted item is not 404")

    return ServiceMachine


def sweep(target: Target) -> None:
    """Every parameter and body field of every operation, once with each value of its type's
    edge list (`hostile.edges`), plus a body over the limit and every unreadable body: what
    random draws are not sure to reach in a few thousand cases."""
    oversized = b"x" * (target.body_limit + 1)
    for index, op in enumerate(target.contract.operations()):
        path = op.path.replace("{item_id}", "1")
        # A change that needs If-Match gets `*`, so that its input is what decides the answer.
        any_version = {"If-Match": "*"} if "If-Match" in header_names(op) else {}
        target.send(op, path, body=oversized, headers=any_version)
        # v2 refuses a parameter it lacks; v1 ignores it
        target.send(op, path, "undeclared=1", headers=any_version)
        for param in op.parameters("path"):
            for value in hostile.edges(param["schema"], target.contract.resolve, index):
                if hostile.in_url(value):
                    url = op.path.replace("{" + param["name"] + "}", hostile.in_url(value))
                    target.send(op, url, headers=any_version)
        for param in op.parameters("query"):
            values = hostile.edges(param["schema"], target.contract.resolve, index)
            if param["name"] == "cursor":
                values += hostile.FORGED_CURSORS
            for value in values:
                target.send(op, path, f"{param['name']}={hostile.in_url(value)}")
        request_body = op.spec.get("requestBody")
        if request_body is None:
            continue
        own_media, schema = body_schema(request_body)
        for body, media in hostile.RAW_BODIES:
            target.send(op, path, body=body, media=as_own(media, own_media), headers=any_version)
        schema = target.contract.resolve(schema)
        for name, prop in schema.get("properties", {}).items():
            for value in hostile.edges(prop, target.contract.resolve, index):
                valid = hostile.example(schema, target.contract.resolve)
                body = hostile.json_bytes({**valid, name: value})
                target.send(op, path, body=body, media=own_media, headers=any_version)
    target.resync()  # the sweep created items: the machine starts from what is stored


def body_schema(request_body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The media type of a documented request body (application/json, or a merge patch's)
    and its schema."""
    media, content = next(iter(request_body["content"].items()))
    return media, content["schema"]


def as_own(media: str, own_media: str) -> str:
    """A JSON body goes as the operation's own JSON type; the others (text/plain...) as they
    are, so that they still test the 415."""
    return own_media if media == "application/json" else media


def header_names(op: Operation) -> set[str]:
    return {param["name"] for param in op.parameters("header")}


def sweep_conditions(target: Target) -> None:
    """Every header parameter (If-Match, If-None-Match, Idempotency-Key) once with each of
    `CONDITIONS` (the header left out included: a PATCH's 428) and each edge value of its
    schema, on item 1 with a valid body where the operation takes one."""
    for op in target.contract.operations():
        for index, param in enumerate(op.parameters("header")):
            edges = hostile.edges(param["schema"], target.contract.resolve, index)
            for value in (*CONDITIONS, *map(hostile.in_header, edges)):
                headers = {} if value is None else {param["name"]: value}
                body, media = None, "application/json"
                if (request_body := op.spec.get("requestBody")) is not None:
                    media, schema = body_schema(request_body)
                    body = hostile.json_bytes(hostile.example(schema, target.contract.resolve))
                path = op.path.replace("{item_id}", "1")
                target.send(op, path, body=body, media=media, headers=headers)
    target.resync()  # a PATCH or DELETE may have changed item 1


def sweep_callers(target: Target) -> None:
    """Every protected operation once with no token, a malformed one and one without its
    scope: the 401s and 403s the document lists, whatever the draws."""
    if target.callers is None:
        return
    for op in target.contract.operations():
        scopes = [s for need in op.spec.get("security", []) for s in need.get("oauth2", [])]
        if scopes:
            path = op.path.replace("{item_id}", "1")
            for caller in ("none", "junk", target.callers.lacking(scopes)):
                target.send(op, path, caller=caller)


def fuzz(
    base_url: str,
    *,
    body_limit: int,
    examples: int,
    steps: int,
    callers: Callers | None = None,
) -> Contract:
    """Run the machine against a served project; returns the contract with its tally."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        doc = client.get("/openapi.json").raise_for_status().json()
        target = Target(client, Contract(doc), Model(), body_limit, callers)
        sweep(target)
        sweep_conditions(target)
        sweep_callers(target)
        target.contract.swept = target.contract.cases
        machine = machine_for(target)
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=examples,
                stateful_step_count=steps,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            ),
        )
    return target.contract


def report(contract: Contract) -> str:
    """The observed statuses per operation and every violation, for the test's message."""
    lines = [f"{contract.cases} cases, {contract.swept} of them from the edge sweep"]
    for key in sorted(contract.observed):
        counts = ", ".join(f"{s}x{n}" for s, n in sorted(contract.observed[key].items()))
        lines.append(f"  {key}: {counts}")
    return "\n".join([*lines, contract.summary()])


if __name__ == "__main__":  # manual runs: python -m tests.support.fuzz URL
    import sys

    result = fuzz(
        sys.argv[1], body_limit=int(sys.argv[2]), examples=int(sys.argv[3]), steps=int(sys.argv[4])
    )
    print(report(result))
    print(json.dumps(result.unobserved()))
