"""`make bench`: the service against two baselines, in one run, on one machine, with wrk.

`python -m scripts.bench [options]` seeds, starts a local identity provider, C, P and O
(see the package's docstring), runs interleaved rounds and prints the table and the JSON
figures; `serve TARGET` is how the baselines are started, with the service's uvicorn settings.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from {{ cookiecutter.package_name }}.settings import Settings
from scripts.bench.model import SERVICES, VARIANTS, Scenario, Server
from scripts.bench.processes import serve, start, stop
from scripts.bench.report import print_table, report
from scripts.bench.seed import {% if cookiecutter.cache == "redis" %}forget_cached_items, {% endif %}seed
from scripts.bench.sink import exports_received, otlp_sink
from scripts.bench.wrk import WRK_CREATE, WRK_DONE, WRK_MISS, WRK_NEXT_ID, WRK_PATCH, bearer, wrk
from scripts.local_idp import AUDIENCE, LocalIdentityProvider, local_identity_provider


def servers(
    options: argparse.Namespace, workdir: Path, sink: str, idp: LocalIdentityProvider
) -> dict[str, Server]:
    """C, P, L and O with the same uvicorn settings; O with every instrument and its auth on."""
    python = sys.executable
    baseline = [python, "-m", "scripts.bench", "serve"]  # C, P and L: see `serve`
    service = [python, "-m", "{{ cookiecutter.package_name }}"]
    processes = {"WEB_CONCURRENCY": str(options.web_concurrency)}
    bench_env = {**processes, "BENCH_DATABASE_URL": options.database_url, **service_pool()}
{%- if cookiecutter.cache == "redis" %}
    bench_env["BENCH_REDIS_URL"] = options.redis_url
{%- endif %}
    service_env = {
        **processes,
        "DATABASE_URL": options.database_url,
{%- if cookiecutter.cache == "redis" %}
        "REDIS_URL": options.redis_url,
{%- endif %}
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
        "OTEL_EXPORTER_OTLP_ENDPOINT": sink,
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": str(options.sample_ratio),
        "OIDC_ISSUER": idp.issuer,
        "OIDC_AUDIENCE": AUDIENCE,
        # Counted as the chart's 100/second would be, but never reached: every request pays
        # the limiter's store round trip and none is refused.
        "RATE_LIMIT": "1000000/second",
    }
    fleet = {
        "C": Server("C", [*baseline, "bench.raw_asgi:app"], processes, workdir / "c.log"),
        "P": Server("P", [*baseline, "bench.bare_fastapi:app"], bench_env, workdir / "p.log"),
        "O": Server("O", service, service_env, workdir / "o.log"),
    }
    if on_postgresql(options):
        fleet["L"] = Server("L", [*baseline, "bench.raw_asyncpg:app"], bench_env, workdir / "l.log")
    if options.breakdown:
        for name, (_, change) in VARIANTS.items():
            log = workdir / f"{name.lower()}.log"
            env = {k: v for k, v in {**service_env, **change}.items() if v is not None}
            fleet[name] = Server(name, service, env, log)
    return fleet


def service_pool() -> dict[str, str]:
    """The service's default pool, for P and L: every server has as many connections."""
    fields = Settings.model_fields
    return {
        "BENCH_POOL_SIZE": str(fields["database_pool_size"].default),
        "BENCH_MAX_OVERFLOW": str(fields["database_max_overflow"].default),
    }


def on_postgresql(options: argparse.Namespace) -> bool:
    """Whether L, which speaks asyncpg alone, can run on the bench's database."""
    return bool(options.database_url.startswith("postgresql"))


def measure(options: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Seed, start C/P/L/O (and O's variants), warm up, run interleaved rounds; every figure."""
    first, count = seed(options.database_url)
{%- if cookiecutter.cache == "redis" %}
    forget_cached_items(options.redis_url)
{%- endif %}
    fixed = workdir / "fixed.lua"
    fresh = workdir / "fresh.lua"  # a new id per request
    patch = workdir / "patch.lua"  # a new id per request, updated
    create = workdir / "create.lua"  # a new name per request
    # The database routes run on P, L (on PostgreSQL) and O. `--breakdown` prices each of O's
    # instruments on the single-item reads (`/livez` is quiet: no span, no line to take away).
    database = ["P", "L", "O"] if on_postgresql(options) else ["P", "O"]
    reads = [
{%- if cookiecutter.cache == "redis" %}
        Scenario("item-cache-miss", "", [*database], fresh),
        Scenario("item-cache-hit", f"/api/v2/items/{first}", [*database], fixed),
{%- else %}
        Scenario("item-db", "", [*database], fresh),
{%- endif %}
    ]
    if options.breakdown:
        for scenario in reads:
            scenario.servers += list(VARIANTS)
    scenarios = [
        Scenario("livez", "/livez", ["C", "P", "O"], fixed),
        *reads,
        Scenario("list-10", "/api/v2/items?limit=10", database, fixed),
        Scenario("list-100", "/api/v2/items?limit=100", database, fixed),
        Scenario("item-create", "/api/v2/items", database, create),
        Scenario("item-patch", "", database, patch),
    ]
    offset = 0
    phases = ((1, options.warmup, False), (options.rounds, options.duration, True))
    with otlp_sink() as sink, local_identity_provider() as idp:
        # Every server gets the same token (C, P and L ignore it): the same bytes to parse. Its
        # hour outlives any run.
        token = idp.token()
        fixed.write_text(bearer(token) + WRK_DONE)
        fresh.write_text(bearer(token) + WRK_NEXT_ID + WRK_MISS + WRK_DONE)
        patch.write_text(bearer(token) + WRK_NEXT_ID + WRK_PATCH + WRK_DONE)
        create.write_text(bearer(token) + WRK_NEXT_ID + WRK_CREATE + WRK_DONE)
        fleet = servers(options, workdir, sink, idp)
        exits: dict[str, int | None] = {}
        try:
            for server in fleet.values():
                start(server, options.server_cpu)
            for rounds, duration, kept in phases:
                for index in range(rounds):
                    for scenario in scenarios:
                        turn = index % len(scenario.servers)  # each round, another goes first
                        for name in scenario.servers[turn:] + scenario.servers[:turn]:
                            server = fleet[name]
                            ids = (str(first), str(count), str(offset))
                            pid = server.process.pid if server.process else None
                            url = server.url + scenario.path
                            run = wrk(url, scenario.script, options, duration, *ids, pid=pid)
                            # No id or name repeats in the next run: wrk counts the answered
                            # requests, and each connection may have one more in flight.
                            offset += run.requests + options.connections + 1
                            if kept:
                                scenario.runs.setdefault(name, []).append(run)
            limited = {name: rate_limited(fleet[name].url, first, token) for name in served(fleet)}
        finally:
            for name, server in fleet.items():
                exits[name] = stop(server)
        exports = exports_received()
        jwks_fetches = idp.jwks_fetches
    logs = {name: fleet[name].log for name in served(fleet)}
    result = report(scenarios, options, exits, exports, logs)
    # The local provider's JWKS, served to every authenticating server of the run: one fetch
    # each at start-up, then every token is checked against the cached key.
    result["jwks_fetches"] = jwks_fetches
    result["rate_limited"] = limited
    return result


def served(fleet: dict[str, Server]) -> list[str]:
    """The processes of the fleet that run the service itself."""
    return [name for name in SERVICES if name in fleet]


def rate_limited(url: str, item_id: int, token: str) -> bool:
    """Whether the server counted a request against a rate limit (its answer says what is left)."""
    headers = {"Authorization": f"Bearer {token}"}
    response = httpx.get(f"{url}/api/v2/items/{item_id}", headers=headers, timeout=10)
    return "ratelimit" in response.headers


def parse(argv: list[str]) -> argparse.Namespace:
    """Command-line options; the defaults take about a minute."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve").add_argument("target")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "sqlite+aiosqlite:///./bench.db"),
    )
{%- if cookiecutter.cache == "redis" %}
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    )
{%- endif %}
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=3, help="whole seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=1, help="whole seconds per warm-up run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--sample-ratio", type=float, default=0.1, help="O's trace sampling")
    parser.add_argument(
        "--web-concurrency", type=int, default=1, help="WEB_CONCURRENCY of every server"
    )
    parser.add_argument(
        "--server-cpu", default="1", help="the servers' cores, as taskset takes them ('': any)"
    )
    parser.add_argument("--load-cpu", default="0", help="wrk's cores ('': any)")
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also run the item routes on O less one of: traces, access lines, auth, rate limit",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    """Run the benchmark and print a table and the JSON figures."""
    options = parse(argv)
    if options.command == "serve":
        serve(options.target)
        return
    if shutil.which(options.wrk) is None:
        sys.exit("wrk is not installed (Debian/Ubuntu: apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        result = measure(options, Path(workdir))
    print_table(result)
    text_result = json.dumps(result, indent=2)
    if options.json:
        options.json.write_text(text_result)
    print(text_result)


if __name__ == "__main__":
    main(sys.argv[1:])
