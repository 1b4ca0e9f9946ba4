"""The figures: medians, ratios and instrument prices as JSON, and a table to read."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from scripts.bench.model import SERVICES, VARIANTS, Scenario


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
            "web_concurrency": options.web_concurrency,
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
            for base in ("P", "L", "C"):
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
    if (per_item := list_per_item(result["scenarios"])) is not None:
        result["list_per_item_us"] = per_item
    return result


def list_per_item(scenarios: dict[str, Any]) -> dict[str, Any] | None:
    """CPU µs each further item costs on the list: limit 100 less limit 10, over 90 items.

    The fixed cost of a request (parsing, routing, instruments, the round trip) cancels out,
    so this prices what a server does per row: fetch, build, validate, serialize.
    """
    ten, hundred = scenarios.get("list-10"), scenarios.get("list-100")
    if ten is None or hundred is None:
        return None
    costs: dict[str, Any] = {}
    for name in (name for name in ("P", "L", *SERVICES) if name in hundred):
        if hundred[name]["cpu_us"] is not None and ten[name]["cpu_us"] is not None:
            costs[name] = round((hundred[name]["cpu_us"] - ten[name]["cpu_us"]) / 90, 1)
    for base in ("P", "L"):
        if "O" in costs and costs.get(base):
            costs[f"O/{base}"] = round(costs["O"] / costs[base], 3)
    return costs


def print_table(result: dict[str, Any]) -> None:
    """One line per scenario and server, then its ratios and instrument prices."""
    for name, entry in result["scenarios"].items():
        for server in ("C", "P", "L", *SERVICES):
            if server in entry:
                figures = entry[server]
                cpu = (
                    f"  cpu {figures['cpu_us']:5.0f} µs/req ({figures['cpu_other_us']:.0f} off "
                    "the request thread)"
                    if figures["cpu_us"] is not None
                    else ""
                )
                print(
                    f"{name:16} {server:17} {figures['rps']:>7} req/s  "
                    f"p50 {figures['p50_ms']:6.2f} ms  p99 {figures['p99_ms']:6.2f} ms  "
                    f"non-2xx {figures['non2xx']}{cpu}"
                )
        ratios = "  ".join(f"{k} {v:.2f}" for k, v in entry.items() if "/" in k)
        print(f"{name:16} {ratios}")
        if "price_us" in entry:
            prices = ", ".join(f"{k} {v} µs" for k, v in entry["price_us"].items())
            print(f"{name:16} CPU per request each instrument costs O: {prices}")
    if "list_per_item_us" in result:
        costs = ", ".join(f"{k} {v}" for k, v in result["list_per_item_us"].items())
        print(f"list, CPU µs per further item (limit 10 -> 100): {costs}")
    fetches = result["jwks_fetches"]
    print(f"JWKS fetches from the local identity provider: {fetches} (one per O process)")
    limited = ", ".join(name for name, on in result["rate_limited"].items() if on)
    print(f"rate limited (RATE_LIMIT counted every request, none refused): {limited or 'none'}")
