"""The pipeline's security steps that can run offline, run for real in a generated project.

Each goes through the generated Makefile target the workflows call (`make sast`, `make sbom`,
`make dast`, `make openapi-check`), with the tool taken from a pinned tool virtualenv instead of
`uv tool run`. pip-audit needs its online vulnerability database, so it runs in CI only.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from packaging.markers import Marker

from tests.support.dast import run_dast
from tests.support.env import require, run
from tests.support.project import InstalledProject, installed
from tests.support.timing import Figure

pytestmark = pytest.mark.xdist_group("cicd")

Tool = Callable[[str], Path]
DAST_TIMEOUT = 300  # seconds; the run takes about 10 s here
V1_SCHEMAS = "src/orders_service/items/schemas.py"
# Markers of the generated project's interpreter (the defaults: Python 3.13 on Linux).
TARGET = {"python_version": "3.13", "python_full_version": "3.13.0", "sys_platform": "linux"}


Project = InstalledProject


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The default answers with ci=both, locked and installed."""
    return Project(*installed({"ci": "both"}, tmp_path_factory.mktemp("security")))


# --------------------------------------------------------------------------- SAST


def test_bandit_reports_no_issue(project: Project, tool: Tool, figure: Figure) -> None:
    bandit = tool("sast") / "bandit"
    require(bandit.exists(), "bandit could not be installed")
    project.make("sast", f"BANDIT={bandit}")
    proc = run([str(bandit), "--recursive", "src", "--format", "json", "--quiet"], project.root)
    report = json.loads(proc.stdout)
    assert report["results"] == []
    lines = report["metrics"]["_totals"]["loc"]
    figure(f"bandit: 0 issues in {lines} lines of src/ ({len(report['metrics']) - 1} files)")


# --------------------------------------------------------------------------- SBOM


def requirement_names(specs: list[str]) -> set[str]:
    return {normalize(re.split(r"[\[<>=!~;\s]", spec, maxsplit=1)[0]) for spec in specs}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_names(project: Project, *selection: str) -> set[str]:
    """Package names uv.lock resolves for a selection of groups (what `uv sync` would install)."""
    export = [project.env["UV"], "export", "--frozen", "--no-emit-project", "--no-hashes"]
    proc = run([*export, "--format", "requirements-txt", *selection], project.root, project.env)
    names: set[str] = set()
    for line in proc.stdout.splitlines():
        if not line or line.startswith(("#", " ", "-")):
            continue
        requirement, _, marker = line.partition(" ; ")
        if marker and not Marker(marker).evaluate(TARGET):
            continue  # e.g. colorama on Windows only
        names.add(normalize(requirement.split("==", 1)[0]))
    return names


def test_cyclonedx_sbom_of_the_runtime_environment(
    project: Project, tool: Tool, figure: Figure
) -> None:
    bin_dir = tool("sbom")
    require((bin_dir / "cyclonedx-py").exists(), "cyclonedx-bom could not be installed")
    sbom_path = project.root / "sbom.cdx.json"
    project.make("sbom", f"CYCLONEDX={bin_dir / 'cyclonedx-py'}")

    # Validate against the CycloneDX 1.6 JSON schema with the reference library (strict).
    validate = (
        "import sys\n"
        "from cyclonedx.schema import SchemaVersion\n"
        "from cyclonedx.validation.json import JsonStrictValidator\n"
        "error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())\n"
        "sys.exit(str(error) if error else 0)\n"
    )
    run([str(bin_dir / "python"), "-c", validate, str(sbom_path)], cwd=project.root)

    sbom = json.loads(sbom_path.read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    assert sbom["specVersion"] == "1.6"
    assert sbom["metadata"]["component"]["name"] == "orders-service"
    components = {normalize(c["name"]): c for c in sbom["components"]}
    assert all(c.get("purl", "").startswith("pkg:pypi/") for c in components.values())

    pyproject = tomllib.loads((project.root / "pyproject.toml").read_text())
    direct = requirement_names(pyproject["project"]["dependencies"])
    missing = sorted(direct - components.keys())
    assert not missing, f"runtime dependencies missing from the SBOM: {missing}"
    # The lock's own answer: the SBOM lists exactly the packages of `uv export --no-dev`.
    runtime, everything = locked_names(project, "--no-dev"), locked_names(project, "--all-groups")
    dev_only = everything - runtime
    assert set(components) == runtime, sorted(set(components) ^ runtime)
    leaked = sorted(dev_only & components.keys())
    assert not leaked, f"dev-only dependencies in the SBOM: {leaked}"
    for name in ("pytest", "mypy", "ruff", "coverage", "pre-commit"):
        assert name in dev_only, name
    figure(
        f"CycloneDX {sbom['specVersion']} SBOM (schema-valid): {len(components)} components, "
        f"= the {len(runtime)} locked runtime packages ({len(direct)} direct), "
        f"none of the {len(dev_only)} dev-only ones"
    )


# --------------------------------------------------------------------------- DAST


@pytest.fixture
def server(project: Project, tmp_path: Path) -> Iterator[str]:
    """`python -m orders_service` on a free 127.0.0.1 port, SQLite, migrated; always stopped."""
    env = {
        **project.env,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'dast.db'}",
        "REDIS_URL": "redis://127.0.0.1:1/0",  # no cache: degraded, still correct
        "BROKER_URL": "amqp://guest:guest@127.0.0.1:1/",
        "LOG_LEVEL": "WARNING",
    }
    with project.serve(env, tmp_path) as running:
        yield running.url
    assert "Traceback" not in running.log_text(), running.log_text()[-3000:]


def test_schemathesis_finds_no_server_error_or_schema_violation(
    project: Project, tool: Tool, server: str, figure: Figure, tmp_path: Path
) -> None:
    schemathesis = tool("dast") / "schemathesis"
    require(schemathesis.exists(), "schemathesis could not be installed")
    report_dir = tmp_path / "dast-report"
    dast = run_dast(
        project.root,
        project.env,
        schemathesis,
        server,
        f"DAST_REPORT_DIR={report_dir}",
        timeout=DAST_TIMEOUT,
    )
    junit = next(report_dir.glob("junit-*.xml")).read_text()
    assert 'failures="0"' in junit
    assert 'errors="0"' in junit
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert re.search(rf"✅ {phase}", dast.output), f"phase {phase} did not pass"
    figure(
        f"schemathesis: {dast.cases} cases on {dast.operations}/{dast.operations} operations, "
        f"0 failures (server errors, schema conformance, negative data), {dast.seconds:.1f} s"
    )


# --------------------------------------------------------------------------- OpenAPI contract


def test_openapi_snapshot_and_v1_breaking_change_check(project: Project, figure: Figure) -> None:
    snapshot = project.root / "openapi.json"
    schemas = project.root / V1_SCHEMAS
    committed, source = snapshot.read_text(), schemas.read_text()
    breaking = [project.env["UV"], "run", "--frozen", "python", "scripts/openapi.py", "breaking"]
    try:
        project.make("openapi-check")  # the committed snapshot matches the generated app

        # A deliberate breaking change to v1: a response field removed, another retyped.
        broken = source.replace("    total: int\n", "", 1).replace(
            "    price: Decimal\n\n\nclass ItemPageV1", "    price: float\n\n\nclass ItemPageV1", 1
        )
        assert broken.count("\n") == source.count("\n") - 1, "the v1 schemas changed shape"
        assert "price: float" in broken
        schemas.write_text(broken)
        snapshot_check = project.make("openapi-check", check=False)
        assert snapshot_check.returncode != 0, "the snapshot check missed a v1 change"
        assert "differs from openapi.json" in snapshot_check.stderr
        versus_base = run_unchecked([*breaking, "openapi.json"], project)
        assert versus_base.returncode == 1, versus_base.stdout + versus_base.stderr
        found = [line for line in versus_base.stderr.splitlines() if line.startswith("breaking:")]
        assert any(".total: response field removed" in f for f in found), found
        assert any(".price: type" in f for f in found), found
        with_base = project.make("openapi-check", "BASE=openapi.json", check=False)
        assert with_base.returncode != 0

        # A compatible addition to v2: a new optional field. Not breaking, but still a change
        # the snapshot check reports until `make openapi` refreshes the committed file.
        v2_doc = '    """v2 representation: integer cents and timestamps."""\n'
        added = source.replace(v2_doc, f"{v2_doc}\n    currency: str = 'EUR'\n", 1)
        assert added != source, "ItemV2 not found: the v2 addition would test nothing"
        schemas.write_text(added)
        compatible = run_unchecked([*breaking, "openapi.json"], project)
        assert compatible.returncode == 0, compatible.stderr
        assert project.make("openapi-check", check=False).returncode != 0
        project.make("openapi")
        project.make("openapi-check")
        assert "currency" in snapshot.read_text()
    finally:
        schemas.write_text(source)
        snapshot.write_text(committed)
    figure(
        f"OpenAPI: snapshot matches; v1 break caught ({len(found)} breaking changes: "
        f"{'; '.join(found)[:160]}); v2 addition passes the compatibility check"
    )


def test_the_api_stays_compatible_with_its_first_published_document(
    project: Project, figure: Figure
) -> None:
    """Every change since the API was first published (update, conditional requests,
    idempotent creates, rate limits, list filters) was an addition: the generated app passes
    the compatibility check against that document, for v1 and for v2."""
    first = Path(__file__).parent / "data" / "openapi" / "before-http-semantics.json"
    check = project.make("openapi-check", f"BASE={first}", check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "no breaking change to a published version" in check.stdout
    old, new = (
        json.loads(first.read_text()),
        json.loads((project.root / "openapi.json").read_text()),
    )
    added = sorted(
        f"{method.upper()} {path}"
        for path, item in new["paths"].items()
        for method in item
        if method not in old["paths"].get(path, {})
    )
    assert added, "nothing was added since: the check compared a document with itself"
    figure(f"OpenAPI: operations added since the first published document {added}, none broken")


def run_unchecked(cmd: list[str], project: Project) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd,
        cwd=project.root,
        env={**os.environ, **project.env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_pip_audit_runs_on_the_lock_in_ci(project: Project) -> None:
    """pip-audit needs its online database: here only the export it audits is checked."""
    makefile = (project.root / "Makefile").read_text()
    assert "--disable-pip --requirement .audit-requirements.txt" in makefile
    export = [project.env["UV"], "export", "--frozen", "--all-groups", "--no-emit-project"]
    output = ["--format", "requirements-txt", "--output-file", ".audit-requirements.txt"]
    run([*export, *output, "--quiet"], project.root, project.env)
    exported = (project.root / ".audit-requirements.txt").read_text()
    hashes = exported.count("--hash=sha256:")
    assert hashes > 0, "pip-audit --disable-pip needs hashed requirements"
    pinned = [line for line in exported.splitlines() if re.match(r"^[A-Za-z0-9].*==", line)]
    assert pinned, "no pinned requirement exported"
    (project.root / ".audit-requirements.txt").unlink()
