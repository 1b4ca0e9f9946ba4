"""The generated compose file: compose-spec valid for every messaging x cache pair, and wired.

No image is built here (``test_image.py`` builds and runs it): the file, its services and every
bind-mounted config are checked as text and with their own tools (check-jsonschema, promtool).
"""

from __future__ import annotations

import fnmatch
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.options import CHOICES
from tests.support.env import require, run
from tests.support.project import Render


@pytest.mark.parametrize(
    ("messaging", "cache"),
    [(m, c) for m in CHOICES["messaging"] for c in CHOICES["cache"]],
)
def test_compose_valid(
    render: Render, tool: Callable[[str], Path], messaging: str, cache: str
) -> None:
    path = render(messaging=messaging, cache=cache)
    compose_file = path / "compose.yaml"
    run(
        [
            str(tool("image") / "check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(compose_file),
        ],
        cwd=path,
    )
    compose = yaml.safe_load(compose_file.read_text())
    services: dict[str, Any] = compose["services"]
    backing = {"postgres"} | ({"redis"} if cache == "redis" else set())
    backing |= {"none": set(), "rabbitmq": {"rabbitmq"}, "kafka": {"kafka"}, "nats": {"nats"}}[
        messaging
    ]
    expected = {"app", "migrate", "otel-collector", "prometheus", "grafana"} | backing
    expected |= {"worker"} if messaging != "none" else set()
    assert set(services) == expected
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"
        assert service.get("image"), name
    app = services["app"]
    assert app["read_only"] is True
    assert app["user"] == "10001:10001"
    assert app["tmpfs"] == ["/tmp"]  # noqa: S108 - the one writable path, by design
    assert app["build"]["context"] == "."
    conditions = {dep: spec["condition"] for dep, spec in app["depends_on"].items()}
    assert conditions == {
        **dict.fromkeys(backing, "service_healthy"),
        "migrate": "service_completed_successfully",
        "otel-collector": "service_started",  # distroless: no probe from inside
    }
    assert services["migrate"]["command"] == ["alembic", "upgrade", "head"]
    if messaging != "none":
        worker = services["worker"]
        assert worker["image"] == app["image"]
        assert worker["read_only"] is True
        assert worker["command"] == ["python", "-m", f"{path.name.replace('-', '_')}.worker"]
        assert {dep: spec["condition"] for dep, spec in worker["depends_on"].items()} == {
            **dict.fromkeys(backing - {"redis"}, "service_healthy"),
            "migrate": "service_completed_successfully",
        }
    assert services["migrate"]["image"] == app["image"]
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"
    env = app["environment"]
    assert env["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert ("REDIS_URL" in env) == (cache == "redis")
    assert ("BROKER_URL" in env) == (messaging != "none")
    # The app's exporter speaks OTLP/HTTP: the collector's HTTP receiver, not gRPC's 4317.
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"


def test_compose_configs(render: Render) -> None:
    """Every bind-mounted config is generated and valid; Prometheus and Grafana are wired."""
    require(shutil.which("promtool"), "promtool is not installed (Debian package prometheus)")
    path = render()
    services: dict[str, Any] = yaml.safe_load((path / "compose.yaml").read_text())["services"]
    # Container path -> generated file, for every file a service gets bind-mounted.
    files: dict[str, Path] = {}
    for service in services.values():
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            if not source.startswith("./"):
                continue
            host = path / source
            assert host.exists(), f"{source} is mounted but not generated"
            if host.is_file():
                files[target] = host
            for file in sorted(host.rglob("*")) if host.is_dir() else []:
                if file.is_file():
                    files[f"{target}/{file.relative_to(host)}"] = file
    for file in files.values():
        text = file.read_text()
        assert json.loads(text) if file.suffix == ".json" else yaml.safe_load(text), file
    # Prometheus: the config is valid, scrapes the app, and every rule file it loads is valid.
    prometheus = files["/etc/prometheus/prometheus.yml"]
    run(["promtool", "check", "config", "--syntax-only", str(prometheus)], cwd=path)
    config = yaml.safe_load(prometheus.read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    assert {"app:8000", "otel-collector:8889"} <= targets
    rule_files = sorted(
        {
            file
            for pattern in config["rule_files"]
            for target, file in files.items()
            if fnmatch.fnmatch(target, pattern)
        }
    )
    assert [f.name for f in rule_files] == ["rules.yaml"], "the generated SLO rules, only"
    run(["promtool", "check", "rules", *map(str, rule_files)], cwd=path)
    # Grafana: every provisioned dashboard queries a provisioned data source.
    uids = {
        source["uid"]
        for target, file in files.items()
        if target.startswith("/etc/grafana/provisioning/datasources/")
        for source in yaml.safe_load(file.read_text())["datasources"]
    }
    dashboards = [f for t, f in files.items() if t.startswith("/var/lib/grafana/dashboards/")]
    assert [f.name for f in dashboards] == ["dashboard.json"], "the generated SLO dashboard"
    for file in dashboards:
        for panel in json.loads(file.read_text())["panels"]:
            if "datasource" in panel:
                assert panel["datasource"]["uid"] in uids, (file.name, panel.get("title"))
    # The collector takes OTLP/HTTP on 4318; its pipelines only use components it configures.
    collector = yaml.safe_load(files["/etc/otelcol/config.yaml"].read_text())
    assert collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    for name, pipeline in collector["service"]["pipelines"].items():
        for kind in ("receivers", "processors", "exporters"):
            assert set(pipeline[kind]) <= set(collector[kind]), (name, kind)
