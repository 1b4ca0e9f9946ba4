"""One wrk run, pinned to its own core, and its figures (with the server's CPU time)."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from scripts.bench.model import Run
from scripts.bench.processes import cpu_seconds, pinned

# wrk prints one JSON line from `done`; `request` is only defined where the path changes.
WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""
# `next_path`: a new item per request, from the run's arguments (first id, count, offset), so
# no id repeats within a run; the offset moves on between runs.
WRK_NEXT_ID = """
local first, count, offset, n = 0, 1, 0, 0
init = function(args)
  first, count, offset = tonumber(args[1]), tonumber(args[2]), tonumber(args[3])
end
next_path = function()
  n = n + 1
  return "/api/v2/items/" .. (first + (offset + n) % count)
end
"""
WRK_MISS = """
request = function()
  return wrk.format("GET", next_path())
end
"""
# A merge patch of the price, on a new item each time (no two requests wait on one row lock).
# `If-Match: *` updates whatever version is current, as a client that just read it would.
WRK_PATCH = """
wrk.headers["Content-Type"] = "application/merge-patch+json"
wrk.headers["If-Match"] = "*"
request = function()
  return wrk.format("PATCH", next_path(), nil, '{"price_cents":' .. (n % 100000) .. '}')
end
"""
# A create of a new item each time, named from the run's offset (no name repeats in a run,
# nor across runs: the offset moves on by each run's request count).
WRK_CREATE = """
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  local body = '{"name":"bench-new-' .. (offset + n) .. '","price_cents":' .. (n % 100000) .. '}'
  return wrk.format("POST", nil, nil, body)
end
"""


def bearer(token: str) -> str:
    """A wrk script line sending `token` with every request (a JWT needs no Lua escaping)."""
    return f'wrk.headers["Authorization"] = "Bearer {token}"\n'


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
        requests=raw["requests"],
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
