"""`make bench`: the service against two baselines, in one run, on one machine, with wrk.

C is a raw ASGI app (`bench/raw_asgi.py`), P a bare FastAPI app with the same routes
(`bench/bare_fastapi.py`), O the service itself with all its instrumentation on: traces exported
over OTLP (to a local sink; sampler from `--sample-ratio`), metrics, and JSON access logs at
INFO to a file (as in production, `/livez` is a quiet path: no span, no line unless it fails).
All three run under the same uvicorn settings (`server_options` of
`python -m {{ cookiecutter.package_name }}`), pinned to one core while wrk runs on another.
Rounds interleave the servers so machine noise hits each alike; figures are round medians.
On Linux each server's CPU time per request is read from /proc too, split into the thread that
serves requests and the rest (O's span exporter). With `--breakdown`, the item routes also run
O with traces off and O without access lines, and the CPU they save prices each instrument.

Routes: `/livez` (C, P, O), and on a database `GET /api/v2/items/{id}` (P, O){% if cookiecutter.cache == "redis" %} as a cache miss
(every request a new id: a database read plus a cache write) and as a cache hit (one warm id){% else %}, a
primary-key read{% endif %}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.server
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parent.parent
SEED_ITEMS = 200_000  # more ids than one run requests, so a miss round never repeats an id
READY_TIMEOUT = 30.0
# `--breakdown`: O less one instrument each, by name and the instrument the saving prices.
# The SDK's own switch wins over any OTLP endpoint the caller's environment sets.
VARIANTS = {
    "O-untraced": ("traces", {"OTEL_SDK_DISABLED": "true"}),
    "O-unlogged": ("access_log", {"LOG_LEVEL": "WARNING"}),  # the access line is at INFO
}
SERVICES = ("O", *VARIANTS)  # every process that runs the service itself
# wrk prints one JSON line from `done`; `request` is only defined for the miss script.
WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""
WRK_MISS = """
local first, count, offset, n = 0, 1, 0, 0
init = function(args)
  first, count, offset = tonumber(args[1]), tonumber(args[2]), tonumber(args[3])
end
request = function()
  n = n + 1
  return wrk.format("GET", "/api/v2/items/" .. (first + (offset + n) % count))
end
"""


@dataclass
class Server:
    """One server process under test."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL on loopback."""
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Run:
    """One wrk run's figures."""

    rps: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    socket_errors: int
    cpu_us: float | None = None  # server CPU per request, all threads (None: no /proc)
    cpu_other_us: float | None = None  # of which threads other than the one serving requests


@dataclass
class Scenario:
    """A route measured on some servers; `runs[server]` holds one Run per round."""

    name: str
    path: str
    servers: list[str]
    script: Path
    runs: dict[str, list[Run]] = field(default_factory=dict)

    def median(self, server: str, attribute: str) -> float:
        """Median over rounds of one figure."""
        return float(statistics.median(getattr(run, attribute) for run in self.runs[server]))

    def saving(self, server: str, variant: str) -> int | None:
        """Median over rounds of the CPU µs per request `variant` spends less than `server`.

        Paired by round (the two ran seconds apart), so the machine's slow drift cancels out.
        """
        pairs = zip(self.runs[server], self.runs[variant], strict=True)
        savings = [
            a.cpu_us - b.cpu_us for a, b in pairs if a.cpu_us is not None and b.cpu_us is not None
        ]
        return round(statistics.median(savings)) if savings else None

    def cpu(self, server: str, attribute: str) -> int | None:
        """Median over rounds of a CPU figure, in whole µs; None without /proc."""
        values = [getattr(run, attribute) for run in self.runs[server]]
        return None if None in values else round(statistics.median(values))


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> tuple[float, float] | None:
    """CPU time (user + system) of a process's main thread and of its other threads.

    From /proc (Linux; 10 ms ticks, fine over runs of seconds), None elsewhere. The main
    thread is the one running the event loop.
    """
    tasks = Path(f"/proc/{pid}/task")
    if not tasks.is_dir():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    main = other = 0.0
    for task in tasks.iterdir():
        with contextlib.suppress(OSError):  # a thread may end between listing and reading
            # Fields after the parenthesised name; utime and stime are the 14th and 15th.
            fields = (task / "stat").read_text().rpartition(")")[2].split()
            seconds = (int(fields[11]) + int(fields[12])) / tick
            if task.name == str(pid):
                main += seconds
            else:
                other += seconds
    return main, other


def pinned(argv: list[str], cpu: int | None) -> list[str]:
    """Prefix `taskset -c cpu` when there is more than one core and taskset exists."""
    taskset = shutil.which("taskset")
    if cpu is None or taskset is None or (os.cpu_count() or 1) < 2:  # noqa: PLR2004 - two cores
        return argv
    return [taskset, "-c", str(cpu), *argv]


class _Sink(http.server.BaseHTTPRequestHandler):
    """OTLP/HTTP endpoint that accepts and drops every export."""

    exports = 0

    def do_POST(self) -> None:
        """Read the batch, answer 200."""
        self.rfile.read(int(self.headers.get("content-length", 0)))
        type(self).exports += 1
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:  # noqa: ANN401 - the stdlib's signature
        """Silent."""


@contextlib.contextmanager
def otlp_sink() -> Iterator[str]:
    """A local collector stand-in, so exporting costs what it costs, with nothing to see."""
    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{sink.server_address[1]}"
    finally:
        sink.shutdown()


def start(server: Server, cpu: int | None) -> None:
    """Start the server on a free port, logs to its file; return once /livez answers."""
    server.port = free_port()
    env = {**os.environ, **server.env, "HOST": "127.0.0.1", "PORT": str(server.port)}
    with server.log.open("wb") as log:
        server.process = subprocess.Popen(  # noqa: S603 - argv built here, no shell
            pinned(server.argv, cpu), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            sys.exit(f"{server.name} exited {server.process.returncode}: see {server.log}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{server.url}/livez", timeout=1).status_code == 200:  # noqa: PLR2004
                return
        time.sleep(0.1)
    sys.exit(f"{server.name} did not answer /livez within {READY_TIMEOUT:.0f} s")


def stop(server: Server) -> int | None:
    """SIGTERM, then the exit status (kill after 20 s)."""
    if server.process is None:
        return None
    server.process.send_signal(signal.SIGTERM)
    try:
        return server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        return server.process.wait()


def wrk(
    url: str,
    script: Path,
    options: argparse.Namespace,
    duration: int,
    *args: str,
    pid: int | None = None,
) -> Run:
    """One wrk run (one thread, pinned to its own core); figures from the script's JSON line.

    With `pid`, also the CPU time that server process spent per request during the run.
    """
    before = None if pid is None else cpu_seconds(pid)
    argv = [
        options.wrk, "-t1", f"-c{options.connections}", f"-d{duration}s", "--latency",
        "-s", str(script), url, "--", *args,
    ]  # fmt: skip
    proc = subprocess.run(  # noqa: S603 - argv built here, no shell
        pinned(argv, options.load_cpu), capture_output=True, text=True, check=True, timeout=120
    )
    after = None if pid is None else cpu_seconds(pid)
    line = next(line for line in proc.stdout.splitlines() if line.startswith("{"))
    raw = json.loads(line)
    run = Run(
        rps=raw["requests"] / (raw["duration_us"] / 1e6),
        p50_ms=raw["p50_us"] / 1e3,
        p99_ms=raw["p99_us"] / 1e3,
        non2xx=raw["non2xx"],
        socket_errors=raw["socket_errors"],
    )
    if before is not None and after is not None and raw["requests"]:
        main, other = (1e6 * (a - b) / raw["requests"] for a, b in zip(after, before, strict=True))
        run.cpu_us, run.cpu_other_us = main + other, other
    return run


def seed(database_url: str) -> tuple[int, int]:
    """Migrate, then insert SEED_ITEMS items in one statement; return (first id, count)."""
    env = {**os.environ, "DATABASE_URL": database_url}
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"], cwd=ROOT, env=env, check=True
    )

    async def insert() -> tuple[int, int]:
        engine = create_async_engine(database_url)
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM items WHERE name LIKE 'bench-%'"))
            await connection.execute(
                text(
                    "INSERT INTO items (name, price_cents, created_at, updated_at) "
                    "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :n) "
                    "SELECT 'bench-' || n, n, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM g"
                ),
                {"n": SEED_ITEMS},
            )
            query = "SELECT min(id), count(*) FROM items WHERE name LIKE 'bench-%'"
            first, count = (await connection.execute(text(query))).one()
        await engine.dispose()
        return int(first), int(count)

    return asyncio.run(insert())


{% if cookiecutter.cache == "redis" -%}
def forget_cached_items(redis_url: str) -> None:
    """Ids restart with a new database: drop items C/P/O cached by an earlier run."""
    from redis import Redis  # noqa: PLC0415 - only the bench needs a synchronous client

    client = Redis.from_url(redis_url)
    for pattern in ("bench-p:items:*", "{{ cookiecutter.project_slug }}:items:*"):
        keys = list(client.scan_iter(match=pattern, count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    client.close()


{% endif -%}
def servers(options: argparse.Namespace, workdir: Path, sink: str) -> dict[str, Server]:
    """C, P and O with the same uvicorn settings; O with every instrument on."""
    python = sys.executable
    serve = [python, "-m", "scripts.bench", "serve"]
    service = [python, "-m", "{{ cookiecutter.package_name }}"]
    bench_env = {"BENCH_DATABASE_URL": options.database_url}
{%- if cookiecutter.cache == "redis" %}
    bench_env["BENCH_REDIS_URL"] = options.redis_url
{%- endif %}
    service_env = {
        "DATABASE_URL": options.database_url,
{%- if cookiecutter.cache == "redis" %}
        "REDIS_URL": options.redis_url,
{%- endif %}
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
        "OTEL_EXPORTER_OTLP_ENDPOINT": sink,
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": str(options.sample_ratio),
    }
    fleet = {
        "C": Server("C", [*serve, "bench.raw_asgi:app"], {}, workdir / "c.log"),
        "P": Server("P", [*serve, "bench.bare_fastapi:app"], bench_env, workdir / "p.log"),
        "O": Server("O", service, service_env, workdir / "o.log"),
    }
    if options.breakdown:
        for name, (_, change) in VARIANTS.items():
            log = workdir / f"{name.lower()}.log"
            fleet[name] = Server(name, service, {**service_env, **change}, log)
    return fleet


def measure(options: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Seed, start C/P/O (and O's variants), warm up, run interleaved rounds; every figure."""
    first, count = seed(options.database_url)
{%- if cookiecutter.cache == "redis" %}
    forget_cached_items(options.redis_url)
{%- endif %}
    fixed = workdir / "fixed.lua"
    fixed.write_text(WRK_DONE)
    fresh = workdir / "fresh.lua"  # a new id per request
    fresh.write_text(WRK_MISS + WRK_DONE)
    scenarios = [
        Scenario("livez", "/livez", ["C", "P", "O"], fixed),
{%- if cookiecutter.cache == "redis" %}
        Scenario("item-cache-miss", "", ["P", "O"], fresh),
        Scenario("item-cache-hit", f"/api/v2/items/{first}", ["P", "O"], fixed),
{%- else %}
        Scenario("item-db", "", ["P", "O"], fresh),
{%- endif %}
    ]
    if options.breakdown:
        for scenario in scenarios[1:]:  # `/livez` is quiet: no span, no line to take away
            scenario.servers += list(VARIANTS)
    offset = 0
    phases = ((1, options.warmup, False), (options.rounds, options.duration, True))
    with otlp_sink() as sink:
        fleet = servers(options, workdir, sink)
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
                            offset += int(run.rps * duration) + 1
                            if kept:
                                scenario.runs.setdefault(name, []).append(run)
        finally:
            for name, server in fleet.items():
                exits[name] = stop(server)
        exports = _Sink.exports
    logs = {name: fleet[name].log for name in SERVICES if name in fleet}
    return report(scenarios, options, exits, exports, logs)


def report(
    scenarios: list[Scenario],
    options: argparse.Namespace,
    exits: dict[str, int | None],
    exports: int,
    logs: dict[str, Path],
) -> dict[str, Any]:
    """Medians, ratios and instrument prices as one JSON-able dict."""
    result: dict[str, Any] = {
        "settings": {
            "rounds": options.rounds,
            "duration_s": options.duration,
            "connections": options.connections,
            "sample_ratio": options.sample_ratio,
            "server_cpu": options.server_cpu,
            "load_cpu": options.load_cpu,
            "breakdown": options.breakdown,
        },
        "scenarios": {},
        "exit_codes": exits,
        "otlp_exports": exports,
        "log_lines": {name: sum(1 for _ in log.open("rb")) for name, log in logs.items()},
    }
    for scenario in scenarios:
        entry: dict[str, Any] = {}
        for name in scenario.servers:
            runs = scenario.runs[name]
            entry[name] = {
                "rps": round(scenario.median(name, "rps")),
                "p50_ms": round(scenario.median(name, "p50_ms"), 2),
                "p99_ms": round(scenario.median(name, "p99_ms"), 2),
                "cpu_us": scenario.cpu(name, "cpu_us"),
                "cpu_other_us": scenario.cpu(name, "cpu_other_us"),
                "non2xx": sum(run.non2xx for run in runs),
                "socket_errors": sum(run.socket_errors for run in runs),
            }
        for name in (name for name in SERVICES if name in entry):
            for base in ("P", "C"):
                if base in entry:
                    entry[f"{name}/{base}"] = round(entry[name]["rps"] / entry[base]["rps"], 3)
                    p99 = entry[name]["p99_ms"] / entry[base]["p99_ms"]
                    entry[f"p99 {name}/{base}"] = round(p99, 3)
        prices = {
            instrument: price
            for name, (instrument, _) in VARIANTS.items()
            if name in entry and (price := scenario.saving("O", name)) is not None
        }
        if prices:
            entry["price_us"] = prices
        result["scenarios"][scenario.name] = entry
    return result


def serve(target: str) -> None:
    """Serve a baseline app with exactly the service's uvicorn settings."""
    sys.path.insert(0, str(ROOT))
    from {{ cookiecutter.package_name }}.__main__ import exit_cleanly, server_options  # noqa: PLC0415
    from {{ cookiecutter.package_name }}.settings import Settings  # noqa: PLC0415

    signal.signal(signal.SIGTERM, exit_cleanly)  # a drained stop exits 0, as the service does
    uvicorn.run(target, **server_options(Settings()))


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
    parser.add_argument("--server-cpu", type=int, default=1)
    parser.add_argument("--load-cpu", type=int, default=0)
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also run the item routes on O without traces and on O without access lines",
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
    for name, entry in result["scenarios"].items():
        for server in ("C", "P", *SERVICES):
            if server in entry:
                figures = entry[server]
                cpu = (
                    f"  cpu {figures['cpu_us']:5.0f} µs/req ({figures['cpu_other_us']:.0f} off "
                    "the request thread)"
                    if figures["cpu_us"] is not None
                    else ""
                )
                print(
                    f"{name:16} {server:10} {figures['rps']:>7} req/s  "
                    f"p50 {figures['p50_ms']:6.2f} ms  p99 {figures['p99_ms']:6.2f} ms  "
                    f"non-2xx {figures['non2xx']}{cpu}"
                )
        ratios = "  ".join(f"{k} {v:.2f}" for k, v in entry.items() if "/" in k)
        print(f"{name:16} {ratios}")
        if "price_us" in entry:
            prices = ", ".join(f"{k} {v} µs" for k, v in entry["price_us"].items())
            print(f"{name:16} CPU per request each instrument costs O: {prices}")
    text_result = json.dumps(result, indent=2)
    if options.json:
        options.json.write_text(text_result)
    print(text_result)


if __name__ == "__main__":
    main(sys.argv[1:])
