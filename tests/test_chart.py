"""The generated Helm chart: lint, render, schema, Kubernetes schemas, checkov, app contracts.

For each rollout option and values set the chart is linted in strict mode and rendered with
Helm's own Go engine (helm-python-sdk, no helm binary), every manifest is validated with
``kubernetes-validate --strict`` against Kubernetes 1.30 and the newest bundled version, and
checkov must report no failed check. The assertions read the app's real port, user, routes
and metric names from the rendered project (Dockerfile, ``src/<package>/...``), so the chart
cannot drift from the service it deploys. Every install names its OpenID Provider
(``tests/data/chart/values-auth.yaml`` with the defaults); without one the chart refuses to
render, with one message.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.support.deep_merge import merge
from tests.support.env import require, run
from tests.support.project import Render, generate

pytestmark = pytest.mark.xdist_group("chart")

SUPPORT = Path(__file__).resolve().parent / "support"
DATA = Path(__file__).resolve().parent / "data" / "chart"
AUTH = DATA / "values-auth.yaml"  # the OpenID Provider every install must name
FULL = DATA / "values-full.yaml"
REQUIRED_AUTH = "auth.issuer and auth.audience are required"  # the chart's one message
RELEASE = "orders-service"  # the default slug: fullname == release name
NAMESPACE = "orders"
OLDEST_KUBERNETES = "1.30.0"
# Kinds with no schema in kubernetes-validate: they may only warn, never fail.
CUSTOM_KINDS = {
    "Rollout", "AnalysisTemplate", "ServiceMonitor", "PodMonitor", "PrometheusRule", "HTTPRoute",
}  # fmt: skip
BROKER_PORTS = {"rabbitmq": 5672, "kafka": 9092, "nats": 4222}
PROBES = {"startup": "/startupz", "liveness": "/livez", "readiness": "/readyz"}
META_NAME = "kubernetes.io/metadata.name"  # the label Kubernetes gives every namespace
SECRET = f"{RELEASE}-secrets"  # values.yaml's existingSecret for the default slug
CANARY_ONLY = ("templates/rollout.yaml", "templates/analysistemplate.yaml")
ROLLING_ONLY = ("templates/deployment.yaml",)

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Case:
    rollout: str
    values: str  # "defaults" or "full" (tests/data/chart/values-full.yaml)
    messaging: str
    cache: str

    @property
    def id(self) -> str:
        return f"{self.rollout}-{self.values}-{self.messaging}-{self.cache}"

    @property
    def values_files(self) -> list[Path]:
        return [FULL] if self.values == "full" else [AUTH]

    def given(self) -> dict[str, Any]:
        """The values the case passes (merged like `helm -f a -f b`), not the chart's defaults."""
        given: dict[str, Any] = {}
        for path in self.values_files:
            given = merge(given, yaml.safe_load(path.read_text()))
        return given


# Every rollout option with the defaults and with everything optional on; the broker and
# cache options vary across the cases so each one's egress port and secret is checked.
CASES = [
    Case("rolling", "defaults", "rabbitmq", "redis"),
    Case("rolling", "full", "kafka", "none"),
    Case("canary", "defaults", "nats", "redis"),
    Case("canary", "full", "none", "none"),
]


@dataclass
class Rendered:
    case: Case
    project: Path
    chart: Path
    out: Path
    report: dict[str, Any]
    manifests: list[Manifest] = field(default_factory=list)

    def kinds(self) -> dict[str, list[Manifest]]:
        by_kind: dict[str, list[Manifest]] = {}
        for doc in self.manifests:
            by_kind.setdefault(doc["kind"], []).append(doc)
        return by_kind

    def one(self, kind: str) -> Manifest:
        found = self.kinds().get(kind, [])
        assert len(found) == 1, f"expected one {kind}, got {len(found)}"
        return found[0]


@dataclass(frozen=True)
class App:
    """What the chart must agree with, read from the rendered project."""

    port: int
    uid: int
    gid: int
    routes: frozenset[str]
    readiness_timeout: float
    histogram: str
    histogram_labels: frozenset[str]
    latency_buckets: tuple[float, ...]
    settings_env: frozenset[str]


def chart_dir(project: Path) -> Path:
    return project / "deploy" / "helm" / project.name


def read_app(project: Path) -> App:
    dockerfile = (project / "Dockerfile").read_text()
    expose = re.findall(r"^EXPOSE\s+(\d+)", dockerfile, re.M)
    user = re.findall(r"^USER\s+(\d+)(?::(\d+))?", dockerfile, re.M)
    assert len(expose) == 1, "the Dockerfile must EXPOSE exactly one port"
    assert user, "the Dockerfile must set a numeric USER"
    uid, gid = int(user[-1][0]), int(user[-1][1] or user[-1][0])
    package = project / "src" / project.name.replace("-", "_")
    health = (package / "api" / "health.py").read_text()
    routes = frozenset(re.findall(r'(?:@router\.get|add_api_route)\(\s*"(/[a-z]+)"', health))
    timeout = re.search(r"^READINESS_TIMEOUT\s*=\s*([0-9.]+)", health, re.M)
    assert timeout, "api/health.py must define READINESS_TIMEOUT"
    metrics = (package / "observability" / "metrics.py").read_text()
    hist = re.search(r'Histogram\(\s*"(\w+)",\s*"[^"]*",\s*\(([^)]*)\)', metrics)
    assert hist, "observability/metrics.py must define the request duration histogram"
    buckets = re.search(r"LATENCY_BUCKETS\s*=\s*\(([^)]*)\)", metrics)
    assert buckets, "observability/metrics.py must define LATENCY_BUCKETS"
    # The root Settings composes each feature's settings, kept next to its adapter.
    sources = (path.read_text() for path in sorted(package.rglob("*.py")))
    settings = "\n".join(text for text in sources if "BaseSettings" in text)
    fields = set(re.findall(r"^    ([a-z][a-z0-9_]*): ", settings, re.M)) - {"model_config"}
    return App(
        port=int(expose[0]),
        uid=uid,
        gid=gid,
        routes=routes,
        readiness_timeout=float(timeout.group(1)),
        histogram=hist.group(1),
        histogram_labels=frozenset(re.findall(r'"(\w+)"', hist.group(2))),
        latency_buckets=tuple(float(b) for b in buckets.group(1).split(",") if b.strip()),
        settings_env=frozenset(f.upper() for f in fields),
    )


@cache
def kubernetes_versions(bin_dir: Path) -> list[str]:
    code = "import json, kubernetes_validate.utils as u; print(json.dumps(u.all_versions()))"
    proc = run([str(bin_dir / "python"), "-c", code], cwd=bin_dir)
    versions: list[str] = json.loads(proc.stdout)
    return versions


def helm_render(
    bin_dir: Path,
    chart: Path,
    out: Path,
    values: list[Path],
    *,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
) -> dict[str, Any]:
    newest = kubernetes_versions(bin_dir)[-1]
    cmd = [
        str(bin_dir / "python"),
        str(SUPPORT / "chart_helm.py"),
        "render",
        str(chart),
        str(out),
        "--name",
        release,
        "--namespace",
        namespace,
        "--kube-version",
        f"v{OLDEST_KUBERNETES}",
        "--kube-version",
        f"v{newest}",
    ]
    for file in values:
        cmd += ["--values", str(file)]
    report: dict[str, Any] = json.loads(run(cmd, cwd=chart).stdout)
    return report


def rollout_as_deployment(rollout: Manifest) -> Manifest:
    """The Rollout's pod template in a Deployment, so the Kubernetes schemas and checkov
    (which know no Rollout) check the canary's pods too."""
    spec = rollout["spec"]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": f"{rollout['metadata']['name']}-rollout-pods",
            "namespace": rollout["metadata"]["namespace"],
            "labels": rollout["metadata"]["labels"],
        },
        "spec": {
            "replicas": spec.get("replicas", 2),
            "selector": spec["selector"],
            "template": spec["template"],
        },
    }


def render_case(render: Render, tool_bin: Path, case: Case, tmp: Path) -> Rendered:
    project = render(rollout=case.rollout, messaging=case.messaging, cache=case.cache)
    chart = chart_dir(project)
    out = tmp / "chart-out"
    report = helm_render(tool_bin, chart, out, case.values_files)
    rendered = Rendered(case, project, chart, out, report)
    for path in sorted((out / "manifests").iterdir()):
        rendered.manifests += [d for d in yaml.safe_load_all(path.read_text()) if d]
    derived = out / "derived"
    derived.mkdir()
    for doc in rendered.kinds().get("Rollout", []):
        (derived / "rollout-pods.yaml").write_text(yaml.safe_dump(rollout_as_deployment(doc)))
    return rendered


def manifest_files(rendered: Rendered) -> list[Path]:
    return sorted((rendered.out / "manifests").iterdir()) + sorted(
        (rendered.out / "derived").iterdir()
    )


@pytest.fixture(scope="module")
def chart_bin(tool: Callable[[str], Path]) -> Path:
    bin_dir = tool("chart")
    require((bin_dir / "python").exists(), "the chart tool virtualenv could not be built")
    return bin_dir


def workload(rendered: Rendered) -> Manifest:
    """The serving workload (the event worker's Deployment is checked by check_worker)."""
    if rendered.case.rollout == "canary":
        return rendered.one("Rollout")
    (api,) = [d for d in rendered.kinds()["Deployment"] if component(d) == "api"]
    return api


def component(doc: Manifest) -> str:
    return str(doc["metadata"]["labels"].get("app.kubernetes.io/component", ""))


def pod_containers(doc: Manifest) -> Iterator[dict[str, Any]]:
    yield from doc["spec"]["template"]["spec"]["containers"]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


# ---------------------------------------------------------------------------------------------


def expected_kinds(case: Case) -> set[str]:
    kinds = {"ConfigMap", "Job", "NetworkPolicy", "PodDisruptionBudget", "Service"}
    kinds |= {"ServiceAccount", "CronJob"}
    if case.rollout == "canary":
        kinds |= {"Rollout", "AnalysisTemplate", "ServiceMonitor"}
    else:
        kinds |= {"Deployment"}
    if case.messaging != "none":
        kinds |= {"Deployment"}  # the event worker
    if case.values == "full":
        kinds |= {"HorizontalPodAutoscaler", "Ingress", "HTTPRoute", "ServiceMonitor"}
        kinds |= {"PrometheusRule"}
    if case.messaging != "none" and "ServiceMonitor" in kinds:
        kinds |= {"PodMonitor"}  # the event worker's /metrics, enabled with the ServiceMonitor
    return kinds


def secret_env_for(case: Case) -> set[str]:
    names = {"DATABASE_URL", "CURSOR_SECRET"}
    if case.messaging != "none":
        names.add("BROKER_URL")
    if case.cache == "redis":
        names.add("REDIS_URL")
    return names


def check_lint_and_kinds(rendered: Rendered) -> None:
    # Strict lint (warnings are errors) against the oldest and the newest Kubernetes.
    for version, lint in rendered.report["lint"].items():
        problems = [m for m in lint["messages"] if m["severity"] >= 2]
        assert not problems, f"helm lint --strict ({version}): {problems}"
        assert not lint["errors"], f"helm lint --strict ({version}): {lint['errors']}"
    kinds = {kind: len(docs) for kind, docs in rendered.kinds().items()}
    assert set(kinds) == expected_kinds(rendered.case)
    workers = int(rendered.case.messaging != "none")
    expected = {
        k: 1 + (workers if k == "Deployment" and rendered.case.rollout == "rolling" else 0)
        for k in kinds
    }
    assert kinds == expected, kinds
    assert "Secret" not in kinds, "secrets are only referenced, never rendered"
    for doc in rendered.manifests:
        assert doc["metadata"]["namespace"] == NAMESPACE, doc["metadata"]["name"]
    print(
        f"\n[chart] {rendered.case.id}: {sum(kinds.values())} resources: "
        + ", ".join(sorted(kinds))
    )


def check_pod(rendered: Rendered, app: App) -> None:
    """Port, probes, user and Restricted security of the serving pods."""
    work = workload(rendered)
    spec = work["spec"]["template"]["spec"]
    (container,) = pod_containers(work)
    assert container["ports"] == [{"name": "http", "containerPort": app.port, "protocol": "TCP"}]
    probes = {name: container[f"{name}Probe"]["httpGet"] for name in PROBES}
    assert {name: probe["path"] for name, probe in probes.items()} == PROBES
    assert set(PROBES.values()) <= app.routes, "probe paths must be the app's routes"
    assert all(probe["port"] == "http" for probe in probes.values())
    assert container["readinessProbe"]["timeoutSeconds"] > app.readiness_timeout

    pod_sc, sc = spec["securityContext"], container["securityContext"]
    assert pod_sc["runAsNonRoot"] is True
    assert sc["runAsNonRoot"] is True
    assert pod_sc["runAsUser"] == sc["runAsUser"] == app.uid
    assert pod_sc["runAsGroup"] == sc["runAsGroup"] == app.gid
    assert pod_sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["privileged"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert spec["automountServiceAccountToken"] is False
    account = rendered.one("ServiceAccount")
    assert account["automountServiceAccountToken"] is False
    assert spec["serviceAccountName"] == account["metadata"]["name"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]  # noqa: S108
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in spec["volumes"]
    for kind in ("requests", "limits"):
        assert set(container["resources"][kind]) == {"cpu", "memory"}


def check_settings(rendered: Rendered, app: App) -> None:
    """ConfigMap settings, secret references and the shutdown budget."""
    work = workload(rendered)
    spec = work["spec"]["template"]["spec"]
    (container,) = pod_containers(work)
    config = rendered.one("ConfigMap")["data"]
    assert config["HOST"] == "0.0.0.0"  # noqa: S104 - the pod's address, reached via the Service
    assert config["PORT"] == str(app.port)
    auth = rendered.case.given()["auth"]
    assert (config["OIDC_ISSUER"], config["OIDC_AUDIENCE"]) == (auth["issuer"], auth["audience"])
    docs = auth.get("docsEnabled")
    assert config.get("DOCS_ENABLED") == (None if docs is None else str(docs).lower())
    unknown = set(config) - app.settings_env - {"DATABASE_POOL_SIZE"}
    assert not unknown, f"settings the app does not read: {unknown}"
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert spec["terminationGracePeriodSeconds"] > pre_stop + int(config["GRACEFUL_TIMEOUT"])

    secret_env = secret_env_for(rendered.case)
    assert secret_env <= app.settings_env
    env = {e["name"]: e for e in container["env"]}
    assert set(env) == secret_env
    assert all(e["valueFrom"]["secretKeyRef"]["name"] == SECRET for e in env.values())
    assert container["envFrom"] == [{"configMapRef": {"name": RELEASE}}]
    notes = rendered.report["notes"]
    assert f"{work['kind']}/{RELEASE}" in notes
    assert all(f"--from-literal={key}=" in notes for key in secret_env)


def check_rollout(rendered: Rendered, app: App) -> None:
    """Deployment rolling update, or the Argo Rollouts canary and its analysis."""
    work = workload(rendered)
    labels = work["spec"]["template"]["metadata"]["labels"]
    spread = work["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert {c["topologyKey"] for c in spread} == {
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    }
    assert all(selects(c["labelSelector"]["matchLabels"], labels) for c in spread)
    assert selects(work["spec"]["selector"]["matchLabels"], labels)
    if rendered.case.rollout == "rolling":
        assert work["spec"]["strategy"] == {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
        }
        assert all(c["matchLabelKeys"] == ["pod-template-hash"] for c in spread)
        return
    assert all(c["matchLabelKeys"] == ["rollouts-pod-template-hash"] for c in spread)
    strategy = work["spec"]["strategy"]["canary"]
    assert (strategy["maxSurge"], strategy["maxUnavailable"]) == ("25%", 0)
    assert [s["setWeight"] for s in strategy["steps"] if "setWeight" in s] == [10, 25, 50]
    assert all("pause" in s for s in strategy["steps"][1::2]), "a pause after each weight"
    template = rendered.one("AnalysisTemplate")
    assert strategy["analysis"]["templates"] == [{"templateName": template["metadata"]["name"]}]
    args = {a["name"]: a for a in strategy["analysis"]["args"]}
    assert set(args) == {a["name"] for a in template["spec"]["args"]}
    assert args["canary-hash"]["valueFrom"] == {"podTemplateHashValue": "Latest"}
    assert args["service"]["value"] == rendered.one("Service")["metadata"]["name"]
    metrics = {m["name"]: m for m in template["spec"]["metrics"]}
    assert set(metrics) == {"error-ratio", "latency-p95"}
    queries = {name: m["provider"]["prometheus"]["query"] for name, m in metrics.items()}
    for query in queries.values():
        assert re.search(rf"\b{app.histogram}_(count|bucket)\b", query), query
        assert 'rollouts_pod_template_hash="{{args.canary-hash}}"' in query
    assert "http_response_status_code" in app.histogram_labels
    assert 'http_response_status_code=~"5.."' in queries["error-ratio"]
    latency_max = float(metrics["latency-p95"]["successCondition"].split("<=")[1])
    assert latency_max in app.latency_buckets, "thresholds sit on a histogram bucket bound"
    monitor = rendered.one("ServiceMonitor")
    assert monitor["spec"]["podTargetLabels"] == ["rollouts-pod-template-hash"]


def check_traffic(rendered: Rendered, app: App) -> None:
    """Service, PDB, HPA, Ingress, HTTPRoute, ServiceMonitor and PrometheusRule."""
    work = workload(rendered)
    labels = work["spec"]["template"]["metadata"]["labels"]
    service = rendered.one("Service")
    assert selects(service["spec"]["selector"], labels)
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert selects(rendered.one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"], labels)
    kinds = rendered.kinds()
    if "ServiceMonitor" in kinds:
        endpoint = rendered.one("ServiceMonitor")["spec"]["endpoints"][0]
        assert (endpoint["port"], endpoint["path"]) == ("http", "/metrics")
        app_source = "\n".join(p.read_text() for p in (rendered.project / "src").rglob("*.py"))
        assert '"/metrics"' in app_source, "the app serves /metrics"
    if "PodMonitor" in kinds:  # the worker's outbox metrics, labelled like the API's series
        (worker,) = [d for d in kinds["Deployment"] if component(d) == "worker"]
        pod_monitor = rendered.one("PodMonitor")["spec"]
        assert selects(
            pod_monitor["selector"]["matchLabels"], worker["spec"]["template"]["metadata"]["labels"]
        )
        endpoint = pod_monitor["podMetricsEndpoints"][0]
        ports = [p["name"] for c in pod_containers(worker) for p in c.get("ports", [])]
        assert endpoint["port"] in ports, "a named port of the worker container"
        assert endpoint["path"] == "/metrics"
        assert endpoint["relabelings"] == [
            {"targetLabel": "service", "replacement": service["metadata"]["name"]}
        ]
        assert not selects(pod_monitor["selector"]["matchLabels"], labels), "not the API pods"
    if rendered.case.values != "full":
        assert work["spec"]["replicas"] == 2
        return
    assert "replicas" not in work["spec"], "the HPA owns the replica count"
    hpa = rendered.one("HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 10)
    assert hpa["scaleTargetRef"] == {
        "apiVersion": work["apiVersion"],
        "kind": work["kind"],
        "name": work["metadata"]["name"],
    }
    ingress = rendered.one("Ingress")["spec"]
    backend = ingress["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": service["metadata"]["name"], "port": {"name": "http"}}
    route = rendered.one("HTTPRoute")["spec"]
    assert route["rules"][0]["backendRefs"] == [
        {"name": service["metadata"]["name"], "port": service["spec"]["ports"][0]["port"]}
    ]
    # The PrometheusRule ships the promtool-proven SLO rules unchanged, plus a target-down alert.
    groups = rendered.one("PrometheusRule")["spec"]["groups"]
    slo = yaml.safe_load((chart_dir(rendered.project) / "files/rules.yaml").read_text())
    assert groups[: len(slo["groups"])] == slo["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    exprs = " ".join(r["expr"] for r in rules)
    assert f"{app.histogram}_count" in exprs
    assert f"{app.histogram}_bucket" in exprs
    thresholds = {float(le) for le in re.findall(r'le="([0-9.]+)"', exprs)}
    assert thresholds, "the latency SLO must select a histogram bucket"
    assert thresholds <= set(app.latency_buckets)
    assert any(r.get("alert", "").endswith("Down") for r in rules)


def check_migrations(rendered: Rendered) -> None:
    """The pre-install/pre-upgrade hook runs `alembic upgrade head` from /app, like the pods."""
    work = workload(rendered)
    (container,) = pod_containers(work)
    job = rendered.one("Job")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    (migrate,) = pod_containers(job)
    assert migrate["command"] == ["alembic", "upgrade", "head"]
    assert migrate["workingDir"] == "/app"
    assert (rendered.project / "alembic.ini").is_file()
    dockerfile = (rendered.project / "Dockerfile").read_text()
    assert re.search(r"^WORKDIR /app$", dockerfile, re.M)
    assert re.search(r"^COPY --from=builder /app/\.venv /app/\.venv$", dockerfile, re.M)
    assert re.search(r'PATH="/app/\.venv/bin:', dockerfile), "alembic is on the image's PATH"
    assert re.search(r"^COPY alembic\.ini ", dockerfile, re.M)
    assert migrate["image"] == container["image"]
    assert migrate["securityContext"] == container["securityContext"]
    job_spec = job["spec"]["template"]["spec"]
    assert job_spec["securityContext"] == work["spec"]["template"]["spec"]["securityContext"]
    assert job_spec["automountServiceAccountToken"] is False
    config = rendered.one("ConfigMap")["data"]
    job_env = {e["name"]: e for e in migrate["env"]}
    assert {k: job_env[k]["value"] for k in config} == config, "the Job sees the same settings"
    assert {k for k, e in job_env.items() if "valueFrom" in e} == secret_env_for(rendered.case)
    job_labels = job["spec"]["template"]["metadata"]["labels"]
    service = rendered.one("Service")
    assert not selects(service["spec"]["selector"], job_labels), "no traffic to the Job"


def peer_matches(peer: dict[str, Any], ip: str, namespace: str) -> bool:
    """Kubernetes' meaning of one egress peer, for the peer forms the chart's values use."""
    if "ipBlock" in peer:
        address = ipaddress.ip_address(ip)
        block = peer["ipBlock"]
        excluded = any(address in ipaddress.ip_network(e) for e in block.get("except", []))
        return address in ipaddress.ip_network(block["cidr"]) and not excluded
    assert set(peer) == {"namespaceSelector"}, f"peer form not modelled here: {peer}"
    selector = peer["namespaceSelector"]
    assert set(selector) <= {"matchLabels"}, f"selector form not modelled here: {selector}"
    return bool(namespace) and selects(selector["matchLabels"], {META_NAME: namespace})


def egress_allows(policy: Manifest, port: int, ip: str, namespace: str = "") -> bool:
    """May the selected pods open TCP `port` to `ip` (a pod in `namespace`, when given)?

    Rules are OR-ed; a rule without `ports` allows every port, one without `to` every peer;
    with policyType Egress and no matching rule the connection is denied.
    """
    spec = policy["spec"]
    assert "Egress" in spec["policyTypes"]
    for rule in spec.get("egress") or []:
        ports = rule.get("ports") or []
        if ports and not any(p["port"] == port and p["protocol"] == "TCP" for p in ports):
            continue
        peers = rule.get("to") or []
        if not peers or any(peer_matches(peer, ip, namespace) for peer in peers):
            return True
    return False


def check_network_policy(rendered: Rendered, app: App) -> None:
    """Default deny for the app's and the Job's pods, with only the ports they need."""
    policy = rendered.one("NetworkPolicy")["spec"]
    selector = policy["podSelector"]["matchLabels"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert selects(selector, workload(rendered)["spec"]["template"]["metadata"]["labels"])
    assert selects(selector, rendered.one("Job")["spec"]["template"]["metadata"]["labels"])
    # With a worker, also its probes' and /metrics port (Prometheus scrapes it).
    worker_port = [8001] if rendered.case.messaging != "none" else []
    assert [p["port"] for r in policy["ingress"] for p in r["ports"]] == [app.port, *worker_port]
    egress = {(p["port"], p["protocol"]) for r in policy["egress"] for p in r["ports"]}
    wanted = {(53, "UDP"), (53, "TCP"), (5432, "TCP")}
    if rendered.case.messaging != "none":
        wanted.add((BROKER_PORTS[rendered.case.messaging], "TCP"))
    if rendered.case.cache == "redis":
        wanted.add((6379, "TCP"))
    issuer = urlsplit(rendered.case.given()["auth"]["issuer"])
    wanted.add((issuer.port or 443, "TCP"))
    assert egress == wanted
    assert all(r["ports"] for r in policy["egress"]), "no rule opens every port"


def check_idp_egress(rendered: Rendered, app: App) -> None:
    """The pods reach the OpenID Provider (discovery, JWKS) on the issuer's port, where the
    values say it is, and nothing else beyond the listed ports (default deny)."""
    policy = rendered.one("NetworkPolicy")
    given = rendered.case.given()
    issuer = urlsplit(given["auth"]["issuer"])
    port = issuer.port or 443
    elsewhere = "198.51.100.7"  # TEST-NET-2: no peer of the values sets
    peers = given.get("networkPolicy", {}).get("idpEgress", [])
    if peers:  # values-full: an ipBlock and the keycloak namespace, on 8443
        assert port == 8443, "values-full names a port in the issuer"
        assert egress_allows(policy, port, "203.0.113.7")
        assert egress_allows(policy, port, "10.42.0.9", namespace="keycloak")
        assert not egress_allows(policy, port, elsewhere), "only the listed peers"
        assert not egress_allows(policy, port, "10.42.0.9", namespace="other")
        assert not egress_allows(policy, 443, "203.0.113.7"), "only the issuer's port"
    else:
        assert port == 443
        assert egress_allows(policy, port, elsewhere), "no peers listed: any address"
    for closed in (22, 80, 443 if port != 443 else 8443, 8080, 9200, 27017):
        assert not egress_allows(policy, closed, elsewhere), f"egress to port {closed} is open"
    assert egress_allows(policy, 53, elsewhere), "DNS stays open"
    assert egress_allows(policy, 5432, elsewhere), "PostgreSQL stays open"


def check_worker(rendered: Rendered, app: App) -> None:
    """The event worker: present with a broker, runs the package's worker module with the API
    pod's image, settings, secrets and security, probed on its own health port, no traffic."""
    workers = [d for d in rendered.kinds().get("Deployment", []) if component(d) == "worker"]
    if rendered.case.messaging == "none":
        assert not workers
        assert not (rendered.chart / "templates" / "worker-deployment.yaml").exists()
        return
    (worker,) = workers
    api = workload(rendered)
    (api_container,) = pod_containers(api)
    (container,) = pod_containers(worker)
    package = rendered.project.name.replace("-", "_")
    assert container["command"] == ["python", "-m", f"{package}.worker"]
    assert (rendered.project / "src" / package / "worker.py").is_file()
    assert container["image"] == api_container["image"]
    assert container["securityContext"] == api_container["securityContext"]
    spec, api_spec = worker["spec"]["template"]["spec"], api["spec"]["template"]["spec"]
    assert spec["securityContext"] == api_spec["securityContext"]
    assert spec["automountServiceAccountToken"] is False
    assert container["envFrom"] == api_container["envFrom"]
    env = {e["name"]: e for e in container["env"]}
    assert {k: e for k, e in env.items() if "valueFrom" in e} == {
        e["name"]: e for e in api_container["env"]
    }
    port = int(env["WORKER_HEALTH_PORT"]["value"])
    assert "WORKER_HEALTH_PORT" in app.settings_env
    assert container["ports"] == [{"name": "health", "containerPort": port, "protocol": "TCP"}]
    for probe, path in (("livenessProbe", "/livez"), ("readinessProbe", "/readyz")):
        assert container[probe]["httpGet"] == {"path": path, "port": "health"}
    labels = worker["spec"]["template"]["metadata"]["labels"]
    assert selects(worker["spec"]["selector"]["matchLabels"], labels)
    assert not selects(rendered.one("Service")["spec"]["selector"], labels), "no traffic"
    assert not selects(api["spec"]["selector"]["matchLabels"], labels)
    policy = rendered.one("NetworkPolicy")["spec"]["podSelector"]["matchLabels"]
    assert selects(policy, labels), "the worker's egress is limited like the app's"
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}


def check_idempotency_purge(rendered: Rendered, app: App) -> None:
    """The CronJob runs the package's purge command with the API pod's image, settings, secrets
    and security, one run at a time, and receives no traffic."""
    cron = rendered.one("CronJob")
    api = workload(rendered)
    (api_container,) = pod_containers(api)
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    package = rendered.project.name.replace("-", "_")
    assert container["command"] == ["python", "-m", package, "purge-idempotency-keys"]
    main = (rendered.project / "src" / package / "__main__.py").read_text()
    assert "purge.COMMAND" in main
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert container["image"] == api_container["image"]
    assert container["securityContext"] == api_container["securityContext"]
    assert pod["spec"]["securityContext"] == api["spec"]["template"]["spec"]["securityContext"]
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert container["envFrom"] == api_container["envFrom"]
    assert container["env"] == api_container["env"]
    labels = pod["metadata"]["labels"]
    assert not selects(rendered.one("Service")["spec"]["selector"], labels), "no traffic"
    assert not selects(api["spec"]["selector"]["matchLabels"], labels)
    policy = rendered.one("NetworkPolicy")["spec"]["podSelector"]["matchLabels"]
    assert selects(policy, labels), "its egress is limited like the app's"
    assert {"IDEMPOTENCY_KEY_TTL_SECONDS", "IDEMPOTENCY_WAIT_SECONDS"} <= app.settings_env


def check_kubernetes_schemas(rendered: Rendered, chart_bin: Path) -> None:
    """kubernetes-validate --strict against the oldest supported and newest bundled version."""
    newest = kubernetes_versions(chart_bin)[-1]
    proc = run_validate(chart_bin, manifest_files(rendered), [OLDEST_KUBERNETES, newest])
    lines = proc.stdout.splitlines()
    errors = [ln for ln in lines if not ln.startswith(("INFO", "WARN"))]
    warned = {m.group(1) for ln in lines if (m := re.search(r"for kind (\w+) ", ln))}
    passed = [ln for ln in lines if ln.startswith("INFO") and " passed " in ln]
    assert proc.returncode == 0, proc.stdout
    assert not errors, proc.stdout
    assert warned <= CUSTOM_KINDS, f"only custom resources may lack a schema: {warned}"
    validated = {m.group(1) for ln in passed if (m := re.search(r"for resource (\w+)/", ln))}
    assert validated == {k.lower() for k in expected_kinds(rendered.case) - CUSTOM_KINDS} | {
        "deployment"
    }
    print(
        f"[chart] {rendered.case.id}: kubernetes-validate --strict {OLDEST_KUBERNETES} and "
        f"{newest}: {len(passed)} passed, 0 errors, schema-less custom kinds: {sorted(warned)}"
    )


@pytest.fixture(scope="module", params=CASES, ids=lambda c: c.id)
def rendered(
    request: pytest.FixtureRequest, chart_bin: Path, tmp_path_factory: pytest.TempPathFactory
) -> Rendered:
    """One render and one Helm run per case, shared by every check on it."""
    case: Case = request.param
    tmp = tmp_path_factory.mktemp(f"chart-{case.id}")
    renders = iter(range(1_000))

    def render(**answers: Any) -> Path:
        return generate(answers, tmp / f"render-{next(renders)}")

    return render_case(render, chart_bin, case, tmp)


@pytest.fixture(scope="module")
def app(rendered: Rendered) -> App:
    return read_app(rendered.project)


def test_chart_lints_and_renders_the_expected_kinds(rendered: Rendered) -> None:
    check_lint_and_kinds(rendered)


# What the chart must agree on with the app and its Dockerfile: one test each.
MATCHES_THE_APP = {
    "pod": check_pod,
    "settings": check_settings,
    "rollout": check_rollout,
    "traffic": check_traffic,
    "network_policy": check_network_policy,
    "idp_egress": check_idp_egress,
    "worker": check_worker,
    "idempotency_purge": check_idempotency_purge,
}


@pytest.mark.parametrize("check", MATCHES_THE_APP.values(), ids=MATCHES_THE_APP.keys())
def test_chart_matches_the_app(
    rendered: Rendered, app: App, check: Callable[[Rendered, App], None]
) -> None:
    check(rendered, app)


def test_chart_migrations(rendered: Rendered) -> None:
    check_migrations(rendered)


def test_chart_passes_kubernetes_schemas(rendered: Rendered, chart_bin: Path) -> None:
    check_kubernetes_schemas(rendered, chart_bin)


def run_validate(
    bin_dir: Path, files: list[Path], versions: list[str]
) -> subprocess.CompletedProcess[str]:
    """kubernetes-validate's exit code is part of the result, so not through ``run``."""
    cmd = [str(bin_dir / "kubernetes-validate"), "--strict"]
    for version in versions:
        cmd += ["-k", version]
    return subprocess.run(
        [*cmd, *map(str, files)], capture_output=True, text=True, check=False, timeout=300
    )


def test_kubernetes_validate_strict_rejects_a_broken_manifest(
    chart_bin: Path, tmp_path: Path
) -> None:
    """The validator itself: an unknown field and a wrong type must each fail in strict mode."""
    base = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\n"
        "spec:\n  selector: {{matchLabels: {{a: b}}}}\n  {replicas}: 2\n  template:\n"
        "    metadata: {{labels: {{a: b}}}}\n    spec:\n      containers:\n"
        "        - {{name: c, image: i, ports: [{{containerPort: {port}}}]}}\n"
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        base.format(name="typo", replicas="replica", port=8000)
        + "---\n"
        + base.format(name="string-port", replicas="replicas", port="'8000'")
    )
    proc = run_validate(chart_bin, [broken], [OLDEST_KUBERNETES])
    assert proc.returncode != 0
    errors = [ln for ln in proc.stdout.splitlines() if ln.startswith("ERROR")]
    assert len(errors) == 2, proc.stdout
    assert "deployment/typo" in errors[0]
    assert "'replica'" in errors[0]
    assert "deployment/string-port" in errors[1]
    assert "containerPort" in errors[1]


def test_chart_passes_checkov(
    rendered: Rendered, tool: Callable[[str], Path], tmp_path: Path
) -> None:
    case = rendered.case
    checkov = tool("checkov") / "checkov"
    require(checkov.exists(), "checkov could not be installed")
    config = rendered.chart / ".checkov.yaml"
    scan = tmp_path / "scan"
    scan.mkdir()
    for path in manifest_files(rendered):  # one run over every manifest: checkov starts slowly
        (scan / f"{path.parent.name}-{path.name}").write_text(path.read_text())
    proc = run(
        [
            str(checkov),
            "--directory",
            str(scan),
            "--config-file",
            str(config),
            "--skip-download",
            "--output",
            "json",
            "--compact",
        ],
        cwd=tmp_path,
        env={
            "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
            "BC_SKIP_MAPPING": "TRUE",
            "ANSI_COLORS_DISABLED": "1",
        },
    )
    report = json.loads(proc.stdout)
    report = report[0] if isinstance(report, list) else report
    summary = report["summary"]
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert summary["failed"] == 0, failed
    assert summary["parsing_errors"] == 0
    passed = report["results"]["passed_checks"]
    checked = {c["resource"].split(".")[0] for c in passed}
    assert {"Deployment", "Job", "Service", "Pod"} <= checked, checked
    # CKV2_K8S_6: every pod (the app's, the migration Job's and the event worker's) is covered
    # by a NetworkPolicy.
    workers = int(case.messaging != "none")
    assert sum(c["check_id"] == "CKV2_K8S_6" for c in passed) == 2 + workers
    skips = checkov_skips(config)
    print(
        f"\n[chart] {case.id}: checkov {summary['checkov_version']}: "
        f"{summary['passed']} passed, {summary['failed']} failed, "
        f"{summary['skipped']} skipped inline; skipped by .checkov.yaml: {sorted(skips)}"
    )


def checkov_skips(config: Path) -> dict[str, str]:
    """The chart's skip list: ``- CKV_ID  # reason`` lines under ``skip-check:``."""
    skips: dict[str, str] = {}
    for line in config.read_text().splitlines():
        m = re.match(r"^\s+-\s+(CKV2?_\w+)\s*(?:#\s*(.*))?$", line)
        if m:
            skips[m.group(1)] = (m.group(2) or "").strip()
    return skips


@pytest.mark.parametrize("rollout", ["rolling", "canary"])
def test_chart_checkov_skips_each_have_a_reason(render: Render, rollout: str) -> None:
    chart = chart_dir(render(rollout=rollout))
    config = chart / ".checkov.yaml"
    parsed = yaml.safe_load(config.read_text())
    assert set(parsed) <= {"framework", "skip-check"}, "no soft-fail or other escape hatches"
    skips = checkov_skips(config)
    assert sorted(skips) == sorted(parsed.get("skip-check", []))
    for check, reason in skips.items():
        assert len(reason.split()) >= 5, f"{check} needs a one-line reason"
    assert ".checkov.yaml" in (chart / ".helmignore").read_text().split()


def schema_check(
    bin_dir: Path, chart: Path, files: list[Path], base: list[Path]
) -> dict[str, dict[str, Any]]:
    """Each file over `base`: schema rejection, lint errors and the render error, by path."""
    cmd = [str(bin_dir / "python"), str(SUPPORT / "chart_helm.py"), "schema", str(chart)]
    cmd += [*map(str, files)] + [arg for path in base for arg in ("--base", str(path))]
    results: dict[str, dict[str, Any]] = json.loads(run(cmd, cwd=chart).stdout)["results"]
    return results


@pytest.mark.parametrize("rollout", ["rolling", "canary"])
def test_chart_schema_rejects_bad_values(render: Render, chart_bin: Path, rollout: str) -> None:
    chart = chart_dir(render(rollout=rollout))
    bad = sorted(DATA.glob("bad-*.yaml"))
    assert len(bad) >= 5
    good = FULL
    results = schema_check(chart_bin, chart, [*bad, good], base=[AUTH])
    for path in bad:
        result = results[str(path)]
        assert result["rejected"], f"values.schema.json accepted {path.name}"
        assert result["lint_errors"], f"helm lint accepted {path.name}"
    assert not results[str(good)]["rejected"], results[str(good)]["message"]
    assert not results[str(good)]["lint_errors"]
    print(
        f"\n[chart] {rollout}: values.schema.json rejected {len(bad)} bad values files: "
        + ", ".join(p.stem.removeprefix("bad-") for p in bad)
    )


@pytest.mark.parametrize("rollout", ["rolling", "canary"])
def test_chart_files_follow_the_rollout_option(render: Render, rollout: str) -> None:
    chart = chart_dir(render(rollout=rollout))
    present, absent = (
        (CANARY_ONLY, ROLLING_ONLY) if rollout == "canary" else (ROLLING_ONLY, CANARY_ONLY)
    )
    for rel in present:
        assert (chart / rel).is_file(), rel
    for rel in absent:
        assert not (chart / rel).exists(), f"{rel} must be pruned for rollout={rollout}"
    text = "\n".join(p.read_text() for p in chart.rglob("*") if p.is_file())
    assert not re.search(r"\{\{-?\s*cookiecutter\.|\{%", text), "every Jinja tag is rendered"
    chart_yaml = yaml.safe_load((chart / "Chart.yaml").read_text())
    assert chart_yaml["name"] == chart.name
    pyproject = (chart.parents[2] / "pyproject.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', pyproject, re.M)
    assert version
    assert chart_yaml["appVersion"] == version.group(1)
    json.loads((chart / "values.schema.json").read_text())


def flatten(values: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in values.items():
        if isinstance(value, dict) and value:
            yield from flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


@pytest.mark.parametrize("rollout", ["rolling", "canary"])
def test_chart_readme_documents_every_value(render: Render, rollout: str) -> None:
    chart = chart_dir(render(rollout=rollout))
    readme = (chart / "README.md").read_text()
    table = readme.split("\n## Values\n", 1)[1]
    documented = set(re.findall(r"^\| `([\w.]+)` \|", table, re.M))
    values = yaml.safe_load((chart / "values.yaml").read_text())
    for key in flatten(values):
        parts = key.split(".")
        prefixes = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        assert prefixes & documented, f"README.md's values table lacks {key}"
    for key in documented:
        node: Any = values
        for part in key.split("."):
            assert isinstance(node, dict), f"README documents unknown {key}"
            assert part in node, f"README documents unknown {key}"
            node = node[part]
    strategies = readme.split("## Rollout strategies", 1)[1]
    assert "**rolling**" in strategies
    assert "**canary**" in strategies


@pytest.mark.parametrize("rollout", ["rolling", "canary"])
def test_chart_minimal_values_switch_the_optional_parts_off(
    render: Render, chart_bin: Path, rollout: str, tmp_path: Path
) -> None:
    """One replica and every optional resource off: no PDB (it would block node drains), no
    NetworkPolicy, ServiceAccount, migration hook or spreading, and still valid manifests."""
    chart = chart_dir(render(rollout=rollout, messaging="none", cache="none"))
    minimal = tmp_path / "minimal.yaml"
    minimal.write_text(
        yaml.safe_dump(
            {
                "replicaCount": 1,
                "serviceAccount": {"create": False},
                "networkPolicy": {"enabled": False},
                "migrations": {"enabled": False},
                "idempotencyPurge": {"enabled": False},
                "topologySpread": {"enabled": False},
                "metrics": {"serviceMonitor": {"enabled": False}},
            }
        )
    )
    report = helm_render(chart_bin, chart, tmp_path / "out", [AUTH, minimal])
    assert not any(lint["errors"] for lint in report["lint"].values())
    docs = [
        d
        for path in sorted((tmp_path / "out" / "manifests").iterdir())
        for d in yaml.safe_load_all(path.read_text())
        if d
    ]
    work_kind = "Rollout" if rollout == "canary" else "Deployment"
    extra = {"AnalysisTemplate"} if rollout == "canary" else set()
    assert {d["kind"] for d in docs} == {"ConfigMap", "Service", work_kind} | extra
    (work,) = [d for d in docs if d["kind"] == work_kind]
    spec = work["spec"]["template"]["spec"]
    assert work["spec"]["replicas"] == 1
    assert spec["serviceAccountName"] == "default"
    assert spec["automountServiceAccountToken"] is False
    assert "topologySpreadConstraints" not in spec
    files = sorted((tmp_path / "out" / "manifests").iterdir())
    proc = run_validate(chart_bin, files, [OLDEST_KUBERNETES])
    assert proc.returncode == 0, proc.stdout


def test_slo_alerts_select_the_series_of_any_release_name(
    render: Render, chart_bin: Path, tmp_path: Path
) -> None:
    """`helm install orders-prod -n payments`: its burn-rate alerts fire on its own series.

    The rules are fed series labelled the way the release's ServiceMonitor labels them (the
    Service's name as `service` and `job`, the release namespace, pod and endpoint), and the
    page alert must fire; the same series under the chart's default `service` label must not
    fire it (that label belongs to another release, or to none).
    """
    promtool = shutil.which("promtool")
    require(promtool, "promtool is not installed (Debian package prometheus)")
    assert promtool is not None
    project = render()
    out = tmp_path / "out"
    helm_render(
        chart_bin,
        chart_dir(project),
        out,
        [FULL],
        release="orders-prod",
        namespace="payments",
    )
    docs = [
        d
        for path in sorted((out / "manifests").iterdir())
        for d in yaml.safe_load_all(path.read_text())
        if d
    ]
    (service,) = [d for d in docs if d["kind"] == "Service"]
    (monitor,) = [d for d in docs if d["kind"] == "ServiceMonitor"]
    (rule,) = [d for d in docs if d["kind"] == "PrometheusRule"]
    name = service["metadata"]["name"]
    assert name != RELEASE, "the second release's Service must have its own name"
    namespace = monitor["metadata"]["namespace"]
    assert namespace == "payments"
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    # The labels Prometheus gives a series scraped through this ServiceMonitor's endpoint.
    scraped = (
        f'namespace="{namespace}",service="{name}",job="{name}",pod="{name}-7d9f-x2k4q",'
        f'container="{project.name}",endpoint="{monitor["spec"]["endpoints"][0]["port"]}",'
        'instance="10.0.3.7:8000"'
    )
    generated = project / "deploy/observability/tests/burn-rate-1h.yaml"
    (firing, *_) = yaml.safe_load(generated.read_text())["tests"]
    old = f'service="{RELEASE}"'
    assert all(old in s["series"] for s in firing["input_series"])
    ours = {
        **firing,
        "name": "the release's own series fire the page alert",
        "input_series": [
            {**s, "series": s["series"].replace(old, scraped)} for s in firing["input_series"]
        ],
        "alert_rule_test": [
            {
                **case,
                "exp_alerts": [
                    {**a, "exp_labels": {**a["exp_labels"], "service": name}}
                    for a in case["exp_alerts"]
                ],
            }
            for case in firing["alert_rule_test"]
        ],
    }
    assert any(c["exp_alerts"] for c in ours["alert_rule_test"]), "the page alert must fire"
    others = {
        **firing,
        "name": "the chart's default service label does not fire this release's alert",
        "alert_rule_test": [{**c, "exp_alerts": []} for c in firing["alert_rule_test"]],
    }
    tests = tmp_path / "release-tests.yaml"
    tests.write_text(
        yaml.safe_dump(
            {"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": [ours, others]}
        )
    )
    proc = subprocess.run(
        [promtool, "test", "rules", str(tests)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_chart_refuses_to_render_without_an_issuer(
    render: Render, chart_bin: Path, tmp_path: Path
) -> None:
    """Secure by default: the chart's defaults (ENVIRONMENT=production) with no OpenID Provider,
    or an issuer without an audience, stop `helm install`/`template` with one message naming
    both values, as the app would refuse to start; the schema lets them through to it."""
    chart = chart_dir(render(messaging="none", cache="none"))
    defaults = tmp_path / "defaults.yaml"
    defaults.write_text("{}\n")
    no_audience = tmp_path / "no-audience.yaml"
    no_audience.write_text(yaml.safe_dump({"auth": {"issuer": "https://idp.example.com"}}))
    results = schema_check(chart_bin, chart, [defaults, no_audience, AUTH], base=[])
    for path in (defaults, no_audience):
        result = results[str(path)]
        assert not result["rejected"], result["message"]
        error = result["render_error"]
        assert REQUIRED_AUTH in error, error
        assert error.count(REQUIRED_AUTH) == 1
        assert "\n" not in error.strip(), "one line"
        assert "--set-string auth.issuer=https://" in error, "it says what to pass"
    assert results[str(AUTH)]["render_error"] == "", results[str(AUTH)]["render_error"]


ISSUERS = {
    "https://idp.example.com/realms/platform": True,
    "https://login.example.com:8443/oauth2/default": True,
    "https://idp.example.com": True,
    "http://idp.example.com/realms/platform": False,  # keys fetched in the clear
    "idp.example.com/realms/platform": False,
    "https://idp.example.com/realms/platform?tenant=a": False,  # OIDC: no query or fragment
    "https://idp.example.com/#keys": False,
    "https:// idp.example.com": False,
}


def test_chart_schema_accepts_only_an_https_issuer(
    render: Render, chart_bin: Path, tmp_path: Path
) -> None:
    chart = chart_dir(render(messaging="none", cache="none"))
    files = {}
    for index, issuer in enumerate(ISSUERS):
        files[issuer] = tmp_path / f"issuer-{index}.yaml"
        auth = {"issuer": issuer, "audience": "orders-service"}
        files[issuer].write_text(yaml.safe_dump({"auth": auth}))
    results = schema_check(chart_bin, chart, list(files.values()), base=[])
    for issuer, accepted in ISSUERS.items():
        result = results[str(files[issuer])]
        assert result["rejected"] is not accepted, (issuer, result["message"])
        if not accepted:
            assert "/auth/issuer" in result["message"], result["message"]
            assert result["render_error"], "helm install/template refuses it too"
