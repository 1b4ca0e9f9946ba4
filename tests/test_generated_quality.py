"""Every quality gate, run inside generated projects of the deep combinations.

Gates run through the generated Makefile, so the commands a developer types are the ones tested.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx
import pytest

from tests.options import DEEP, DEFAULTS, combo_id
from tests.services import (
    BROKER_URLS,
    broker_available,
    execute,
    postgres_available,
    redis_available,
    redis_url,
    scratch_database,
)
from tests.support.env import require
from tests.support.project import Installed, InstalledProject
from tests.support.timing import Figure

pytestmark = pytest.mark.deep


Project = InstalledProject


DEEP_PARAMS = [
    pytest.param(answers, id=combo_id(answers), marks=pytest.mark.xdist_group(f"deep{i}"))
    for i, answers in enumerate(DEEP)
]


@pytest.fixture(scope="module", params=DEEP_PARAMS)
def project(
    request: pytest.FixtureRequest,
    installed_project: Callable[[Mapping[str, object]], Installed],
) -> Project:
    """The run's shared install of this combination: these gates only run it, never change it."""
    answers: dict[str, str] = request.param
    start = time.perf_counter()
    root, env = installed_project(answers)
    note = f"generate+lock+install (or reuse): {time.perf_counter() - start:.1f} s"
    return Project(root, env, answers, note)


def test_lint(project: Project, figure: Figure) -> None:
    figure(project.setup_note)
    project.make("lint")


def test_typecheck(project: Project) -> None:
    project.make("typecheck")


def test_tests_on_sqlite(project: Project, figure: Figure) -> None:
    elapsed = project.timed_make("test")
    figure(f"generated `make test` on SQLite: {elapsed:.1f} s")


def test_tests_on_postgres_and_redis(project: Project, figure: Figure) -> None:
    require(postgres_available(), "PostgreSQL is not reachable on 127.0.0.1:5432")
    extra: dict[str, str] = {}
    chosen = {**DEFAULTS, **project.answers}
    if chosen["cache"] == "redis":
        require(redis_available(), "Redis is not reachable on 127.0.0.1:6379")
        extra["TEST_REDIS_URL"] = redis_url(1 + DEEP.index(project.answers))
    if chosen["messaging"] in BROKER_URLS:  # the outage test against the real broker
        require(broker_available(chosen["messaging"]), f"{chosen['messaging']} is not reachable")
        extra["TEST_BROKER_URL"] = BROKER_URLS[chosen["messaging"]]
    # A second database stands in for the read replica (routing, not replication, is tested).
    # The README's recipe: the developer's own migrated database, holding rows, is exported as
    # DATABASE_URL and named by TEST_DATABASE_URL; the suite must neither change nor read it.
    with scratch_database("tpl_test") as url, scratch_database("tpl_replica") as replica:
        project.alembic("upgrade", "head", database_url=url)
        rows = "SELECT 'dev-' || g, 1 FROM generate_series(1, 201) AS g"
        execute(url, f"INSERT INTO items (name, price_cents) {rows}")
        elapsed = project.timed_make(
            "test",
            DATABASE_URL=url,
            TEST_DATABASE_URL=url,
            TEST_DATABASE_REPLICA_URL=replica,
            **extra,
        )
        assert execute(url, "SELECT count(*) FROM items") == [(201,)]
        # The databases the suite made for itself (<name>_test_<hex>) are gone too.
        own = f"{url.rsplit('/', 1)[1]}_test_"
        databases = [str(name) for (name,) in execute(url, "SELECT datname FROM pg_database")]
        assert not [name for name in databases if name.startswith(own)]
    real = ", ".join(["PostgreSQL (+ replica database)", *(k for k in extra)])
    figure(f"generated `make test` on {real}: {elapsed:.1f} s")


def alembic_round_trip(project: Project, database_url: str) -> None:
    for step in (["upgrade", "head"], ["downgrade", "base"], ["upgrade", "head"], ["check"]):
        project.alembic(*step, database_url=database_url)


def test_migrations_on_sqlite(project: Project, tmp_path: Path) -> None:
    alembic_round_trip(project, f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}")


def test_migrations_on_postgres(project: Project) -> None:
    require(postgres_available(), "PostgreSQL is not reachable on 127.0.0.1:5432")
    with scratch_database("tpl_migrate") as url:
        alembic_round_trip(project, url)


def test_serves_v1_v2_and_probes_as_a_real_process(
    project: Project, tmp_path: Path, figure: Figure
) -> None:
    """What `make run` (and the template's `make demo`) starts: migrate, then
    `python -m <package>` on a real port, with no identity provider: ENVIRONMENT=local runs
    without authentication and says so in one warning line."""
    env = {
        **project.env,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
        "REDIS_URL": "redis://127.0.0.1:1/0",  # a cache outage must not matter
    }
    with project.serve(env, tmp_path) as server:
        figure(f"ready after {server.ready_after:.2f} s")
        with httpx.Client(base_url=server.url, timeout=5) as client:
            created = client.post("/api/v1/items", json={"name": "cup", "price": "2.50"})
            assert created.status_code == 201, created.text
            v1 = client.get(f"/api/v1/items/{created.json()['id']}")
            assert v1.json()["price"] == "2.50"
            assert "sunset" in v1.headers
            v2 = client.get("/api/v2/items")
            assert v2.json()["items"][0]["price_cents"] == 250
            assert client.get("/livez").status_code == 200
            assert client.get("/docs").status_code == 200
            missing = client.get("/api/v2/items/999")
            assert missing.status_code == 404
            assert missing.headers["content-type"] == "application/problem+json"
        assert server.stop() == 0, "SIGTERM must end the server with exit 0"
    assert "Traceback" not in server.log_text(), server.log_text()[-3000:]
    warnings = [line for line in server.log_text().splitlines() if "authentication" in line]
    assert len(warnings) == 1, warnings
    assert "authentication is off: ENVIRONMENT=local and no OIDC_ISSUER" in warnings[0]
