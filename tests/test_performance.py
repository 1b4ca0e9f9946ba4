"""How fast the template and the service it generates are, measured side by side.

The service's own `make bench` (scripts/bench/) runs a short version here: C (raw ASGI),
P (bare FastAPI on the SQLAlchemy ORM, same routes), L (the same on raw asyncpg: the driver's
limit) and O (the service, every instrument on: OTLP traces to a local
sink, Prometheus metrics, JSON access logs at INFO to a file; `/livez` is a quiet path, as in
production; authentication: each item request's RS256 token checked against the cached key
of a local issuer; and the rate limit, every request counted in Redis) under the same uvicorn
settings, server and wrk pinned to separate cores, interleaved rounds, medians. The machine
is shared and has two cores, so ratios (measured in one run) are what is asserted, never
absolute rates.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services import postgres_available, redis_available, redis_url, scratch_database
from tests.support.env import require, run
from tests.support.project import Installed, generate
from tests.support.timing import Budget, Figure, best_of

pytestmark = pytest.mark.timing  # run alone: see the Makefile's test target


@dataclass(frozen=True)
class Target:
    """One of the issue's targets: a ratio of one route, at least (or at most) `value`."""

    route: str  # a scenario, or "list-per-item" (CPU per further item on the list)
    ratio: str  # "O/P", "O/L" or "p99 O/P"
    value: float
    met: bool  # reached with a margin in every run so far: asserted; otherwise reported
    at_most: bool = False

    def holds(self, measured: float) -> bool:
        return measured <= self.value if self.at_most else measured >= self.value

    def describe(self, measured: float) -> str:
        sense = "<=" if self.at_most else ">="
        verdict = "met" if self.holds(measured) else f"missed by {abs(measured - self.value):.2f}"
        return (
            f"{self.route} {self.ratio} {measured:.2f} (target {sense} {self.value:.2f}): {verdict}"
        )


# Budgets as multiples of the reference workload (tests/support/timing.py), each set in seconds
# on a machine of this kind whose reference took 0.70 s. A machine 3x slower has a 3x slower
# reference and so a 3x larger budget. Render: ~1.0 s there. Generated `make test` (270 tests;
# 100 when its 30 s target was set): 49 x the reference on a busy run, 64 x (248 tests) and
# 76 x (270) on quiet CI runs whose reference took 0.47 s (its I/O and process starts do not
# speed up with the CPU), so 75 s: a 1.4x regression still fails it. Issue 19 took the suite to
# 480 tests (updates, idempotent creates, rate limits, list conventions): 155 x on the CI run
# whose reference took 0.62 s, about the same per test as before; 130 s keeps a 1.4x margin.
RENDER = Budget("render + hooks (no lock)", target=2.0, reference=0.70)
MAKE_TEST = Budget("generated `make test` on SQLite", target=130.0, reference=0.70)
# Where every request reaches the database (and P and L run too), and every route measured.
DATABASE_ROUTES = ("item-cache-miss", "list-10", "list-100", "item-create", "item-patch")
ROUTES = ("livez", "item-cache-hit", *DATABASE_ROUTES)
# Issue 20's targets: the service against P (bare FastAPI on the SQLAlchemy ORM) and L (bare
# FastAPI on raw asyncpg, the driver's limit), every instrument on. Each is checked on every
# run: one marked met (reached with a margin in every run so far) is asserted; the others are
# reported with their gap (test_targets), and FLOORS keeps what was reached.
TARGETS = [
    Target("item-cache-miss", "O/P", 1.0, met=False),
    Target("list-10", "O/P", 1.0, met=False),
    Target("list-100", "O/P", 1.0, met=True),
    Target("item-create", "O/P", 1.0, met=False),
    Target("item-cache-miss", "O/L", 0.60, met=False),
    Target("list-10", "O/L", 0.60, met=False),
    Target("list-100", "O/L", 0.60, met=False),
    Target("item-cache-hit", "O/P", 0.65, met=False),
    Target("livez", "O/P", 0.85, met=False),
    *(Target(route, "p99 O/P", 1.5, met=False, at_most=True) for route in DATABASE_ROUTES),
    Target("list-per-item", "O/P", 1.2, met=True, at_most=True),
]
# Regression floors (and ceilings, for p99 and the list's CPU per item), about 15% short of what
# issue 20 reached in full runs on this VM (figures in its closing note): reads through
# SQLAlchemy Core in autocommit, rows into records by position, one validation per row, fair
# connection checkout. O/P then: livez 0.74-0.86, item miss 0.65-0.75, hit 0.31-0.37, list-10
# 0.65-0.72, list-100 1.22, create 0.43-0.53, patch 0.59-0.63; O/L: miss 0.31-0.34, list-10
# 0.25-0.28, list-100 0.46, create 0.16-0.17, patch 0.19-0.20. The fair checkout took p99 O/P
# of the database routes from 4.8-7.6 (a few requests starved for a connection) to 0.4-1.4;
# 2.0 catches its return. CPU per further list item, O/P 0.46 (O 7.2 µs, P 15.6, L 5.8): no
# ORM objects, and one validation per row. list-100's floor is its target, 1.0 (82%).
FLOORS: dict[tuple[str, str], float] = {
    ("livez", "O/P"): 0.62,
    ("item-cache-miss", "O/P"): 0.55,
    ("item-cache-hit", "O/P"): 0.26,
    ("list-10", "O/P"): 0.55,
    ("list-100", "O/P"): 1.0,
    ("item-create", "O/P"): 0.36,
    ("item-patch", "O/P"): 0.50,
    ("item-cache-miss", "O/L"): 0.26,
    ("list-10", "O/L"): 0.21,
    ("list-100", "O/L"): 0.39,
    ("item-create", "O/L"): 0.13,
    ("item-patch", "O/L"): 0.16,
    **{(route, "p99 O/P"): 2.0 for route in DATABASE_ROUTES},
    ("list-per-item", "O/P"): 0.6,
}
# O less one instrument each (`--breakdown`), and the instrument its saving prices.
VARIANTS = {
    "O-untraced": "traces",
    "O-unlogged": "access_log",
    "O-unauthenticated": "authentication",
    "O-unlimited": "rate_limit",
}
# Each fetches the issuer's JWKS once; each but O-unlimited counts every request against its
# caller's rate limit (set far above what wrk sends: none is refused).
AUTHENTICATING = ("O", "O-untraced", "O-unlogged", "O-unlimited")
RATE_LIMITED = ("O", "O-untraced", "O-unlogged", "O-unauthenticated")


@pytest.fixture(scope="module")
def project(installed_project: Callable[[Mapping[str, object]], Installed]) -> Installed:
    """The default combination, locked and installed. (shared by the run: only served here)."""
    return installed_project({})


def test_render_is_quick(reference: float, tmp_path: Path, figure: Figure) -> None:
    """Cookiecutter plus hooks, lock step skipped: what a user waits for before any install."""
    renders = iter(range(3))
    render, runs = best_of(3, lambda: generate({}, tmp_path / str(next(renders))))
    figure(RENDER.describe(render, reference) + f" (best of {len(runs)})")
    assert RENDER.holds(render, reference), RENDER.describe(render, reference)


def test_generated_make_test_is_quick(
    project: tuple[Path, dict[str, str]], reference: float, figure: Figure
) -> None:
    """The generated `make test` on SQLite: the loop a developer runs all day."""
    make_test, runs = best_of(
        2, lambda: run(["make", "test"], cwd=project[0], env=project[1], timeout=600)
    )
    line = MAKE_TEST.describe(make_test, reference)
    figure(f"{line} (best of 2: {', '.join(f'{t:.1f}' for t in runs)} s)")
    assert MAKE_TEST.holds(make_test, reference), line


@pytest.fixture(scope="module")
def bench(project: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    """One short `make bench` on PostgreSQL and Redis; its JSON figures."""
    require(shutil.which("wrk"), "wrk is not installed (apt-get install wrk)")
    require(postgres_available(), "PostgreSQL is not reachable on 127.0.0.1:5432")
    require(redis_available(), "Redis is not reachable on 127.0.0.1:6379")
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    args = f"--rounds 6 --duration 2 --warmup 1 --breakdown --json {out}"  # 6: steady medians
    with scratch_database("tpl_bench") as url:
        run(
            ["make", "bench", f"BENCH_ARGS={args}"],
            cwd=project[0],
            env={**project[1], "BENCH_DATABASE_URL": url, "BENCH_REDIS_URL": redis_url(15)},
            timeout=900,  # ~7 min here: 7 routes x 6 rounds x 3-7 servers x 2 s, and start-ups
        )
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def servers(entry: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    """The per-server figures of one scenario (C, P, L, O and O's variants)."""
    return {name: entry[name] for name in ("C", "P", "L", "O", *VARIANTS) if name in entry}


def describe(name: str, entry: dict) -> str:  # type: ignore[type-arg]
    figures = ", ".join(
        f"{s} {f['rps']} req/s p99 {f['p99_ms']:.2f} ms "
        f"cpu {f['cpu_us']} us/req ({f['cpu_other_us']} off the request thread)"
        for s, f in servers(entry).items()
    )
    ratios = ", ".join(f"{k} {v:.2f}" for k, v in entry.items() if "/" in k)
    prices = ", ".join(f"{k} {v} us" for k, v in entry.get("price_us", {}).items())
    return f"{name}: {figures}; {ratios}" + (f"; CPU per request of {prices}" if prices else "")


def test_bench_compares_service_with_baselines(bench: dict, figure: Figure) -> None:  # type: ignore[type-arg]
    for name, entry in bench["scenarios"].items():
        figure(describe(name, entry))
    figure(
        f"bench settings {bench['settings']}; OTLP exports received {bench['otlp_exports']}, "
        f"log lines {bench['log_lines']}"
    )
    assert set(bench["scenarios"]) == set(ROUTES)
    for name, entry in bench["scenarios"].items():
        for server, figures in servers(entry).items():
            assert figures["non2xx"] == 0, (name, server, figures)
            assert figures["socket_errors"] == 0, (name, server, figures)
            # CPU per request from /proc: every server spends some, mostly on the loop.
            assert 0 <= figures["cpu_other_us"] < figures["cpu_us"], (name, server, figures)
        # L, on raw asyncpg, runs every database route and sets the driver's limit.
        assert ("L" in entry) == (name != "livez"), describe(name, entry)
    per_item = bench["list_per_item_us"]
    figure(f"list, CPU per further item (limit 10 -> 100): {per_item} us")
    assert 0 < per_item["L"] < per_item["P"], per_item  # no ORM, no SQLAlchemy: cheaper rows
    assert bench["exit_codes"] == dict.fromkeys(["C", "P", "O", "L", *VARIANTS], 0)
    assert bench["otlp_exports"] > 0, "instrumented service exported no spans"
    # Spans are encoded and sent by the exporter's thread, so its cost shows up off the loop.
    hit = bench["scenarios"]["item-cache-hit"]
    assert hit["O"]["cpu_other_us"] > 0, describe("item-cache-hit", hit)
    assert bench["log_lines"]["O"] > 1000, "access lines did not reach the log file"
    # O's item requests were all 2xx with the token, so it was checked and accepted: against
    # the cached key, as the issuer served its JWKS once per authenticating process.
    assert bench["jwks_fetches"] == len(AUTHENTICATING), bench["jwks_fetches"]
    assert bench["rate_limited"] == {name: name in RATE_LIMITED for name in ("O", *VARIANTS)}


def test_breakdown_switches_off_one_instrument_each(bench: dict) -> None:  # type: ignore[type-arg]
    """The variants that price traces, access lines and authentication really lack them, and
    only them."""
    for name in ("item-cache-miss", "item-cache-hit"):
        entry = bench["scenarios"][name]
        assert set(entry["price_us"]) == set(VARIANTS.values()), describe(name, entry)
        # No tracer provider, so no exporter thread: all of its CPU is on the loop.
        assert entry["O-untraced"]["cpu_other_us"] == 0, describe(name, entry)
        assert entry["O-unlogged"]["cpu_other_us"] > 0, describe(name, entry)  # still traced
        assert entry["O-unauthenticated"]["cpu_other_us"] > 0, describe(name, entry)
        assert entry["O-unlimited"]["cpu_other_us"] > 0, describe(name, entry)
    assert "O-untraced" not in bench["scenarios"]["livez"]  # quiet: nothing to take away
    lines = bench["log_lines"]
    assert lines["O-untraced"] > 1000, lines  # still logs every request
    assert lines["O-unauthenticated"] > 1000, lines
    assert lines["O-unlimited"] > 1000, lines
    assert lines["O-unlogged"] < lines["O"] / 100, lines  # start-up lines at most


def test_token_validation_is_priced_on_a_cache_hit(bench: dict, figure: Figure) -> None:  # type: ignore[type-arg]
    """The issue's figure: what checking a bearer token costs per request with the JWKS cached,
    from O less O without authentication. wrk repeats one token, as a caller reusing its token
    until it expires does: its RS256 signature and claims are checked on first use, then it is
    remembered (the full check is priced in the generated tests' figures, ~155 µs in-process)."""
    hit, miss = bench["scenarios"]["item-cache-hit"], bench["scenarios"]["item-cache-miss"]
    price, price_miss = hit["price_us"]["authentication"], miss["price_us"]["authentication"]
    figure(
        f"token validation, JWKS cached: {price} us CPU per request on a cache hit "
        f"({price_miss} us on a cache miss), {bench['jwks_fetches']} JWKS fetches in the run "
        f"(one per authenticating process); O {hit['O']['cpu_us']} us vs "
        f"O-unauthenticated {hit['O-unauthenticated']['cpu_us']} us per cache hit"
    )
    # Paired medians of a CPU difference: a few tens of µs either side is this VM's noise.
    assert -100 < price < hit["O"]["cpu_us"] / 2, describe("item-cache-hit", hit)


def measured(bench: dict, route: str, ratio: str) -> float:  # type: ignore[type-arg]
    """One ratio of the run: of a scenario, or of the list's CPU per further item."""
    if route == "list-per-item":
        return float(bench["list_per_item_us"][ratio])
    return float(bench["scenarios"][route][ratio])


def test_floors_keep_what_was_reached(bench: dict, figure: Figure) -> None:  # type: ignore[type-arg]
    """Regression guards about 15% short of the figures reached (see FLOORS)."""
    failed = []
    for (route, ratio), floor in FLOORS.items():
        value = measured(bench, route, ratio)
        at_most = ratio.startswith("p99") or route == "list-per-item"
        holds = value <= floor if at_most else value >= floor
        figure(f"floor {route} {ratio} {value:.2f} ({'<=' if at_most else '>='} {floor:.2f})")
        if not holds:
            failed.append(f"{route} {ratio} {value:.2f} against {floor:.2f}")
    assert not failed, failed


def test_targets(bench: dict, figure: Figure) -> None:  # type: ignore[type-arg]
    """Every target of the issue, on this run: the met ones asserted, the gap of the others
    reported (a figure of the run's summary, so a missed target is never silent)."""
    missed = []
    for target in TARGETS:
        value = measured(bench, target.route, target.ratio)
        figure(("target " if target.met else "target, reported: ") + target.describe(value))
        if target.met and not target.holds(value):
            missed.append(target.describe(value))
    assert not missed, missed
