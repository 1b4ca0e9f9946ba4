"""The API contract of a generated service: v1's sunset, and a stateful fuzz of every operation.

The sunset default is never in the past, and a bad answer stops generation. The fuzz drives a
served project on PostgreSQL with valid and hostile input (tests/support/fuzz.py) and holds
every response to the OpenAPI document (tests/support/contract.py); the project checks tokens
from the real OpenID Provider (tests/support/oidc.py), so 401s and 403s are held to it too.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.services import postgres_available, scratch_database
from tests.support.contract import Contract
from tests.support.env import require
from tests.support.fuzz import Callers, fuzz, report
from tests.support.oidc import RESOURCE, SCOPES, openid_provider
from tests.support.project import Installed, Render
from tests.support.server import serve
from tests.support.timing import Figure
from tests.test_hooks import generate

SETTINGS = "src/orders_service/settings.py"
DATE_FIELD = r"{}: date = date\.fromisoformat\(\"(\d{{4}}-\d{{2}}-\d{{2}})\"\)"


def rendered_date(project: Path, name: str) -> date:
    settings = (project / SETTINGS).read_text()
    found = re.search(DATE_FIELD.format(name), settings)
    assert found, f"{name} is not a literal ISO date in {SETTINGS}"
    return date.fromisoformat(found.group(1))


def test_default_sunset_is_a_year_after_generation(render: Render) -> None:
    before = datetime.now(UTC).date()
    project = render()
    after = datetime.now(UTC).date()
    sunset = rendered_date(project, "api_v1_sunset_on")
    deprecated = rendered_date(project, "api_v1_deprecated_on")
    assert before <= deprecated <= after, deprecated
    assert before + timedelta(days=365) <= sunset <= after + timedelta(days=365), sunset
    assert sunset > after


def test_an_answered_sunset_is_rendered(render: Render) -> None:
    wanted = datetime.now(UTC).date() + timedelta(days=30)
    project = render(api_v1_sunset_on=wanted.isoformat())
    assert rendered_date(project, "api_v1_sunset_on") == wanted


@pytest.mark.parametrize(
    ("answers", "field", "rule"),
    [
        ({"api_v1_sunset_on": "2027-13-01"}, "api_v1_sunset_on", "must be a date (YYYY-MM-DD)"),
        ({"api_v1_sunset_on": "next year"}, "api_v1_sunset_on", "must be a date (YYYY-MM-DD)"),
        ({"api_v1_sunset_on": ""}, "api_v1_sunset_on", "must be a date (YYYY-MM-DD)"),
        ({"api_v1_sunset_on": "01/06/2030"}, "api_v1_sunset_on", "must be a date (YYYY-MM-DD)"),
        ({"api_v1_deprecated_on": "soon"}, "api_v1_deprecated_on", "must be a date (YYYY-MM-DD)"),
        ({"api_v1_sunset_on": "2020-01-01"}, "api_v1_sunset_on", "must come after"),
        ({"api_v1_sunset_on": "today"}, "api_v1_sunset_on", "must come after"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_a_bad_or_past_sunset_stops_generation(
    tmp_path: Path, answers: dict[str, str], field: str, rule: str
) -> None:
    """Past, that is: not after the deprecation, which defaults to the generation date."""
    if answers.get("api_v1_sunset_on") == "today":
        answers = {"api_v1_sunset_on": datetime.now(UTC).date().isoformat()}
    proc = generate(tmp_path, answers)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    assert errors[0].startswith(f"error: {field}={answers[field]!r} is invalid: {rule}"), errors
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_stored_dates_render_again_later(render: Render) -> None:
    """`cruft update` re-renders with the answers of back then, both long past by now."""
    project = render(api_v1_deprecated_on="2020-01-01", api_v1_sunset_on="2021-01-01")
    assert rendered_date(project, "api_v1_sunset_on") == date(2021, 1, 1)
    assert rendered_date(project, "api_v1_deprecated_on") == date(2020, 1, 1)


# --------------------------------------------------------------------------- stateful fuzzing

BODY_LIMIT = 65_536  # over the largest valid body (2,200 characters as 12-byte escapes)


@pytest.fixture(scope="module")
def project(installed_project: Callable[[Mapping[str, object]], Installed]) -> Installed:
    """The default answers, locked and installed. (shared by the run: only served here)."""
    return installed_project({})


def test_stateful_fuzz_on_postgresql_keeps_the_documented_contract(
    project: tuple[Path, dict[str, str]], tmp_path: Path, figure: Figure
) -> None:
    """Every operation, valid and hostile input, a real process on PostgreSQL trusting a real
    OpenID Provider: no 5xx, only documented statuses, bodies and headers as documented, state
    as created and deleted, and every documented status a client can cause is caused at least
    once (401 and 403 included)."""
    require(postgres_available(), "PostgreSQL is not reachable on 127.0.0.1:5432")
    root, env = project
    with (
        scratch_database("fuzz") as database_url,
        openid_provider(tmp_path, ttl=900) as provider,  # its tokens outlive the run
    ):
        callers = Callers(
            provider.token("writer", SCOPES),
            {scope: provider.token("writer", scope) for scope in SCOPES.split()},
        )
        served = {
            **env,
            "ENVIRONMENT": "test",
            "OIDC_ISSUER": provider.issuer,
            "OIDC_AUDIENCE": RESOURCE,
            "DATABASE_URL": database_url,
            "REDIS_URL": "redis://127.0.0.1:1/0",  # no cache: degraded, still correct
            "BROKER_URL": "amqp://guest:guest@127.0.0.1:1/",  # the outbox only stores events
            "MAX_BODY_BYTES": str(BODY_LIMIT),
            "LOG_LEVEL": "WARNING",
        }
        with serve(root, served, tmp_path) as server:
            started = time.perf_counter()
            contract = fuzz(
                server.url, body_limit=BODY_LIMIT, examples=100, steps=30, callers=callers
            )
            seconds = time.perf_counter() - started
    outcome = report(contract)
    operations = {operation.key for operation in contract.operations()}
    assert operations <= contract.observed.keys(), operations - contract.observed.keys()
    assert contract.cases - contract.swept >= 2_000, outcome
    assert contract.violations == [], outcome
    assert contract.unobserved() == {}, f"documented, never caused: {contract.unobserved()}"
    assert "Traceback" not in server.log_text(), server.log_text()[-3000:]
    statuses = sorted({status for counts in contract.observed.values() for status in counts})
    figure(
        f"stateful fuzz on PostgreSQL: {contract.cases} cases ({contract.swept} of the edge "
        f"sweep, the rest from the state machine) over {len(operations)} operations "
        f"and their undocumented methods in {seconds:.0f} s, as callers with every scope, one "
        f"scope, no token or a malformed one; statuses {statuses}; "
        f"0 violations; {contract.closed_early} oversized bodies cut off after the 413"
    )


def test_the_contract_check_sees_each_kind_of_departure() -> None:
    """The oracle itself: an undocumented status, a bad body, a missing header, a 5xx."""
    problem = {"$ref": "#/components/schemas/Problem"}
    doc = {
        "paths": {
            "/things": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "OK",
                            "headers": {"Sunset": {"required": True, "schema": {}}},
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "503": {"content": {"application/problem+json": {"schema": problem}}},
                    }
                }
            }
        },
        "components": {
            "schemas": {"Problem": {"type": "object", "required": ["status"]}},
        },
    }
    contract = Contract(doc)
    (operation,) = contract.operations()
    request = httpx.Request("GET", "http://test/things")

    def answer(status: int, body: object, **headers: str) -> None:
        media = "application/problem+json" if status >= 400 else "application/json"
        response = httpx.Response(
            status, json=body, headers={"content-type": media, **headers}, request=request
        )
        contract.check(operation, response)

    answer(200, {}, sunset="x")
    assert contract.violations == []
    answer(200, [], sunset="x")
    answer(200, {})
    answer(404, {"status": 404})
    answer(503, {"detail": "no status"})
    kinds = [violation.kind for violation in contract.violations]
    assert kinds == [
        "schema violation",
        "missing header",
        "undocumented status",
        "server error",
        "schema violation",
    ]
    assert contract.cases == 5
    assert dict(contract.observed["GET /things"]) == {200: 3, 404: 1, 503: 1}
    assert contract.unobserved() == {}
