"""SLOs as code in the generated project: rules, burn-rate alerts, dashboard, live series.

promtool checks the generated rules and runs their unit tests (each alert fires at its burn
rate within its long window and stays silent just under it and at normal traffic); every
metric and label the rules and the dashboard use is scraped from the running generated app;
and the cost of full instrumentation is measured against the same app with it off.
"""

from __future__ import annotations

import http.server
import json
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support.env import project_env, require, run
from tests.support.project import Render, generate
from tests.support.server import serve
from tests.support.timing import Figure

pytestmark = pytest.mark.xdist_group("slo")
LIVE = {"messaging": "none", "cache": "none"}  # no broker or cache: only the app's own series
PACKAGE = "orders_service"
SLO_CHECK = [sys.executable, "-m", "scripts.slo", "--check"]
# PromQL words that are not series names.
PROMQL_WORDS = {
    "sum", "rate", "by", "without", "and", "or", "unless", "histogram_quantile", "avg", "max",
    "min", "count", "on", "ignoring", "group_left", "group_right", "clamp_min", "vector",
}  # fmt: skip
SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"')
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
EXPOSITION = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+\S+", re.MULTILINE)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A locked, installed project (no broker, no cache) to run for real."""
    env = project_env("3.13")
    root = generate(LIVE, tmp_path_factory.mktemp("slo"), lock_with=env)
    run([env["UV"], "sync", "--frozen", "--quiet"], cwd=root, env=env)
    return root


def promtool() -> str:
    found = shutil.which("promtool")
    require(found, "promtool is not installed (Debian package prometheus)")
    assert found is not None
    return found


def chart_rules(root: Path) -> Path:
    """The SLO rules' only copy: the chart's, which compose and promtool read too."""
    return root / "deploy/helm" / root.name / "files/rules.yaml"


def load_rules(root: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(chart_rules(root).read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def test_promtool_checks_the_rules(project: Path) -> None:
    out = run([promtool(), "check", "rules", str(chart_rules(project))], cwd=project)
    assert "SUCCESS" in out.stdout


def test_promtool_proves_every_burn_rate_alert(project: Path, figure: Figure) -> None:
    tool = promtool()
    files = sorted((project / "deploy/observability/tests").glob("*.yaml"))
    alerts = [r for r in load_rules(project) if "alert" in r]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(files)) as pool:  # one window pair per file
        results = list(pool.map(lambda f: run([tool, "test", "rules", str(f)], cwd=project), files))
    elapsed = time.perf_counter() - started
    assert all("SUCCESS" in r.stdout for r in results)
    groups = [t for f in files for t in yaml.safe_load(f.read_text())["tests"]]
    cases = [c for g in groups for c in g["alert_rule_test"]]
    firing = [c for c in cases if c["exp_alerts"]]
    tested = {c["alertname"] for c in cases}
    assert tested == {r["alert"] for r in alerts}, "every alert has unit tests"
    for alert in tested:  # fires at 1.1x, silent before its window, at 0.95x and at normal
        names = [g["name"] for g in groups if g["name"].startswith(f"{alert} ")]
        assert len(names) == 3, names
    figure(
        f"promtool: {len(alerts)} alerts proven in {len(groups)} test groups, {len(cases)} "
        f"evaluations ({len(firing)} firing, {len(cases) - len(firing)} silent) in {elapsed:.1f} s"
    )


def test_a_broken_threshold_fails_the_rule_tests(project: Path, tmp_path: Path) -> None:
    """The unit tests are not vacuous: a page alert at 20x instead of 14.4x is caught."""
    copy = tmp_path / project.name
    shutil.copytree(project / "deploy", copy / "deploy")
    rules = chart_rules(copy)
    rules.write_text(rules.read_text().replace("> 0.0144", "> 0.02"))
    proc = subprocess.run(
        [promtool(), "test", "rules", str(copy / "deploy/observability/tests/burn-rate-1h.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    assert "AvailabilityBudgetBurn1h" in proc.stdout + proc.stderr


def test_alerts_carry_severity_summary_and_a_runbook(project: Path) -> None:
    for rule in load_rules(project):
        if "alert" not in rule:
            continue
        assert rule["labels"]["severity"] in {"page", "ticket"}
        notes: dict[str, str] = rule["annotations"]
        assert notes["summary"]
        page = project / "docs/runbooks" / notes["runbook_url"].rsplit("/", 1)[1]
        assert page.is_file(), page
        assert f"# {rule['alert']}" in page.read_text()


def slo_check(root: Path) -> subprocess.CompletedProcess[str]:
    """The project's own `python -m scripts.slo --check`: exit 1 and `stale: <file>` when stale."""
    return subprocess.run(SLO_CHECK, cwd=root, capture_output=True, text=True, check=False)


def test_generated_files_are_current_for_other_answers(render: Render) -> None:
    """The committed outputs are templated: for another name and owner they still match."""
    root = render(project_name="Billing API", github_owner="acme", **LIVE)
    proc = slo_check(root)
    assert proc.returncode == 0, proc.stderr
    rules = chart_rules(root).read_text()
    assert 'service="billing-api"' in rules
    assert "github.com/acme/billing-api/blob/main/docs/runbooks/" in rules
    stale = root / "deploy/observability/slo.yaml"
    stale.write_text(stale.read_text().replace("target: 0.999", "target: 0.995"))
    proc = slo_check(root)
    assert proc.returncode == 1
    assert f"stale: {chart_rules(root).relative_to(root)}" in proc.stderr


@contextmanager
def serve_app(project: Path, tmp_path: Path, name: str, **env: str) -> Iterator[httpx.Client]:
    """The generated app on SQLite, as a real process; a client bound to it."""
    env = {"VIRTUAL_ENV": "", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / name}.db", **env}
    with (
        serve(project, env, tmp_path, module=PACKAGE, name=name) as server,
        httpx.Client(base_url=server.url, timeout=5) as client,
    ):
        yield client


def log_text(tmp_path: Path, name: str) -> str:
    return (tmp_path / f"{name}.log").read_text()[-4000:]


def exposition(text: str) -> dict[str, set[str]]:
    """Series name -> label names, from Prometheus text format."""
    series: dict[str, set[str]] = {}
    for name, labels in EXPOSITION.findall(text):
        series.setdefault(name, set()).update(MATCHER.findall(labels or ""))
    return series


def references(expr: str) -> tuple[dict[str, set[str]], set[str]]:
    """Series name -> label names matched, and the labels grouped by, in one PromQL expression."""
    used: dict[str, set[str]] = {}
    for name, matchers in SELECTOR.findall(expr):
        used.setdefault(name, set()).update(MATCHER.findall(matchers))
    grouped = {label.strip() for g in GROUPING.findall(expr) for label in g.split(",") if label}
    rest = GROUPING.sub(" ", SELECTOR.sub(" ", re.sub(r"\[[^\]]*\]", " ", expr)))
    bare = {w for w in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", rest) if w not in PROMQL_WORDS}
    assert not bare, f"series referenced without a selector in {expr!r}: {bare}"
    return used, grouped


def test_rules_and_dashboard_use_only_series_the_app_exposes(
    project: Path, tmp_path: Path, figure: Figure
) -> None:
    with serve_app(project, tmp_path, "series") as client:
        created = client.post("/api/v2/items", json={"name": "cup", "price_cents": 250})
        assert created.status_code == 201, created.text
        assert client.get(f"/api/v2/items/{created.json()['id']}").status_code == 200
        assert client.get("/api/v2/items/424242").status_code == 404
        scraped = client.get("/metrics").text
    exposed = exposition(scraped)
    assert "424242" not in scraped, "metrics must use route templates, never the raw path"
    assert 'http_route="/api/v2/items/{item_id}"' in scraped
    spec = yaml.safe_load((project / "deploy/observability/slo.yaml").read_text())
    for objective in spec["objectives"]:  # the latency SLO is exact: its bound is a bucket
        if "threshold_seconds" in objective:
            assert f'le="{objective["threshold_seconds"]}"' in scraped
    target_labels = set(spec["selector"])  # added by the scrape, not by the app
    rules = load_rules(project)
    recorded = {r["record"]: {*target_labels, *r.get("labels", {})} for r in rules if "record" in r}
    board = json.loads((project / "deploy/observability/dashboard.json").read_text())
    exprs = [str(r["expr"]) for r in rules] + [
        t["expr"] for p in board["panels"] for t in p["targets"]
    ]
    app_labels = set().union(*exposed.values())
    checked: set[str] = set()
    for expr in exprs:
        used, grouped = references(expr)
        for name, labels in used.items():
            known = recorded.get(name) or (
                exposed[name] | target_labels if name in exposed else None
            )
            assert known is not None, f"{name} is neither in /metrics nor recorded ({expr})"
            assert labels <= known, f"{name}: labels {labels - known} do not exist ({expr})"
            checked.add(name)
        assert grouped <= app_labels | target_labels, f"unknown grouping labels in {expr}"
    raw = sorted(n for n in checked if n not in recorded)
    figure(f"{len(exprs)} expressions use {len(raw)} scraped series, all present: {raw}")


def test_dashboard_loads_and_covers_red_and_burn(project: Path) -> None:
    board = json.loads((project / "deploy/observability/dashboard.json").read_text())
    spec = yaml.safe_load((project / "deploy/observability/slo.yaml").read_text())
    assert board["uid"] == spec["dashboard_uid"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    text = " ".join(t["expr"] for p in board["panels"] for t in p["targets"])
    for needle in ("rate(http_server_request_duration_seconds_count", "histogram_quantile",
                   "http_server_active_requests", "slo:error_budget:remaining_ratio",
                   "slo:sli_error:ratio_rate1h"):  # fmt: skip
        assert needle in text


class _Sink(http.server.BaseHTTPRequestHandler):
    """A stand-in OTLP/HTTP collector: accepts every export, counts them."""

    exports = 0

    def do_POST(self) -> None:  # http.server's naming
        self.rfile.read(int(self.headers.get("content-length", 0)))
        type(self).exports += 1
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        return


def latencies(client: httpx.Client, path: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(path)
        out.append(time.perf_counter() - start)
        assert response.status_code == 200
    return out


def test_overhead_of_full_instrumentation(project: Path, tmp_path: Path, figure: Figure) -> None:
    """Same app, same requests: traces exported + access lines vs. no endpoint and WARNING."""
    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{sink.server_address[1]}"
    try:
        with (
            serve_app(project, tmp_path, "on", OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
                  OTEL_BSP_SCHEDULE_DELAY="200", LOG_LEVEL="INFO") as on,
            serve_app(project, tmp_path, "off", LOG_LEVEL="WARNING") as off,
        ):  # fmt: skip
            for client in (on, off):
                client.post("/api/v2/items", json={"name": "cup", "price_cents": 250})
                latencies(client, "/api/v2/items", 50)  # warm up
            timed: dict[str, list[float]] = {"on": [], "off": []}
            for _ in range(5):  # interleaved rounds, so machine noise hits both alike
                timed["on"] += latencies(on, "/api/v2/items", 100)
                timed["off"] += latencies(off, "/api/v2/items", 100)
            time.sleep(0.5)  # one more batch interval: spans reach the sink
    finally:
        sink.shutdown()
    median_on, median_off = statistics.median(timed["on"]), statistics.median(timed["off"])
    ratio = median_on / median_off
    figure(
        f"per-request median {median_on * 1e3:.2f} ms instrumented vs {median_off * 1e3:.2f} ms "
        f"off: ratio {ratio:.2f} (+{(median_on - median_off) * 1e6:.0f} us; {_Sink.exports} "
        "OTLP exports received)"
    )
    assert _Sink.exports > 0, "instrumented app exported no spans"
    on_log, off_log = log_text(tmp_path, "on"), log_text(tmp_path, "off")
    assert '"trace_id"' in on_log
    for text in (on_log, off_log):
        assert "Traceback" not in text
        assert "export" not in text.lower(), "exporter errors in the logs"
    assert ratio < 3, "instrumentation costs more than 3x a bare request"
