"""The generated CI/CD definitions, for each `ci` answer: linters, schemas and hardening rules.

zizmor (offline), actionlint (with shellcheck for `run:` scripts), check-jsonschema (GitHub
workflows, Dependabot, GitLab CI), yamllint and shellcheck run for real; the hardening rules a
platform team asks for (pinned actions, least privilege, OIDC, no untrusted input in scripts)
are read from the parsed YAML.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.env import require, run
from tests.support.project import generate
from tests.support.timing import Figure

pytestmark = pytest.mark.xdist_group("cicd")

# (ci, rollout): every `ci` value, and both deploy scripts (rolling and canary).
COMBOS = [("github", "rolling"), ("gitlab", "canary"), ("both", "canary")]
WORKFLOWS = ("ci.yml", "security.yml", "release.yml", "deploy.yml")
# Every third-party action, the commit its version tag points to, and where that was checked.
# Each SHA was found in public workflows that pin it with the same version comment (>= 2 sources);
# Dependabot (github-actions ecosystem) keeps them current.
PINS = {
    "actions/checkout": ("08c6903cd8c0fde910a37f88322edcfb5dd907a8", "v5.0.0"),
    "astral-sh/setup-uv": ("e92bafb6253dcd438e0484186d7669ea7a8ca1cc", "v6.4.3"),
    "github/codeql-action/init": ("51f77329afa6477de8c49fc9c7046c15b9a4e79d", "v3.29.5"),
    "github/codeql-action/analyze": ("51f77329afa6477de8c49fc9c7046c15b9a4e79d", "v3.29.5"),
    "actions/upload-artifact": ("ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2"),
    "azure/setup-helm": ("b9e51907a09c216f16ebe8536097933489208112", "v4.3.0"),
    "googleapis/release-please-action": ("7987652d64b4581673a76e33ad5e98e3dd56832f", "v4.1.3"),
    "docker/setup-buildx-action": ("e468171a9de216ec08956ac3ada2f0791b6bd435", "v3.11.1"),
    "docker/login-action": ("74a5d142397b4f367a81961eba4e8cd7edddf772", "v3.4.0"),
    "docker/build-push-action": ("263435318d21b8e681c14492fe198d362a7d2c83", "v6.18.0"),
    "sigstore/cosign-installer": ("398d4b0eeef1380460a10c8013a76f728fb906ac", "v3.9.1"),
    "actions/attest-build-provenance": ("e8998f949152b193b063cb0ec769d69d929409be", "v2.4.0"),
    "aws-actions/configure-aws-credentials": (
        "b47578312673ae6fa5b5096b330d9fbac3d116df",
        "v4.2.1",
    ),
}
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}")


def render_ci(tmp: Path, ci: str, rollout: str) -> Path:
    return generate({"ci": ci, "rollout": rollout}, tmp)


def combo_ids(combos: list[tuple[str, str]]) -> list[str]:
    return [f"ci={c},rollout={r}" for c, r in combos]


GITHUB = [combo for combo in COMBOS if combo[0] in {"github", "both"}]
GITLAB = [combo for combo in COMBOS if combo[0] in {"gitlab", "both"}]


def rendered(combos: list[tuple[str, str]]) -> Callable[..., Path]:
    """A module fixture rendering each (ci, rollout) of `combos` once."""

    @pytest.fixture(scope="module", params=combos, ids=combo_ids(combos))
    def fixture(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
        ci, rollout = request.param
        return render_ci(tmp_path_factory.mktemp(f"ci-{ci}"), ci, rollout)

    return fixture


project = rendered(COMBOS)
github_project = rendered(GITHUB)  # ci=github or both: the GitHub Actions checks
gitlab_project = rendered(GITLAB)  # ci=gitlab or both: the GitLab CI checks


def answers(project: Path) -> dict[str, str]:
    context: dict[str, str] = json.loads((project / ".cruft.json").read_text())["context"][
        "cookiecutter"
    ]
    return context


def has_github(project: Path) -> bool:
    return answers(project)["ci"] in {"github", "both"}


def has_gitlab(project: Path) -> bool:
    return answers(project)["ci"] in {"gitlab", "both"}


def workflows(project: Path) -> dict[str, dict[str, Any]]:
    return {
        name: yaml.safe_load((project / ".github/workflows" / name).read_text())
        for name in WORKFLOWS
    }


def yaml_files(project: Path) -> list[Path]:
    """The pipeline YAML this part of the template owns."""
    files = [project / ".yamllint.yaml"]
    if has_github(project):
        files += sorted((project / ".github").rglob("*.yml"))
    if has_gitlab(project):
        files.append(project / ".gitlab-ci.yml")
    return files


def tools_env(bin_dir: Path) -> dict[str, str]:
    """The tool venv first on PATH: actionlint finds shellcheck there."""
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


# --------------------------------------------------------------------------- files per option


def test_files_of_the_chosen_ci_only(project: Path) -> None:
    github = [
        *(f".github/workflows/{name}" for name in WORKFLOWS),
        ".github/dependabot.yml",
        ".github/CODEOWNERS",
        ".github/pull_request_template.md",
        "release-please-config.json",
        ".release-please-manifest.json",
    ]
    gitlab = [
        ".gitlab-ci.yml",
        ".gitlab/CODEOWNERS",
        ".gitlab/merge_request_templates/Default.md",
        ".gitlab/semantic-release.toml",
    ]
    for rel in github:
        assert (project / rel).is_file() == has_github(project), rel
    for rel in gitlab:
        assert (project / rel).is_file() == has_gitlab(project), rel
    for rel in ("SECURITY.md", "scripts/deploy.sh", "scripts/verify-image.sh", "openapi.json"):
        assert (project / rel).is_file(), rel
    for script in ("scripts/deploy.sh", "scripts/verify-image.sh"):
        assert os.access(project / script, os.X_OK), f"{script} is not executable"


# --------------------------------------------------------------------------- tools, for real


def test_zizmor_offline_finds_nothing(github_project: Path, tool: Any, figure: Figure) -> None:
    zizmor = tool("workflows") / "zizmor"
    require(zizmor.exists(), "zizmor could not be installed")
    proc = run([str(zizmor), "--offline", "--format", "json", ".github"], cwd=github_project)
    findings = json.loads(proc.stdout)
    assert findings == [], json.dumps(findings, indent=2)[:4000]
    # The pedantic persona is reported, not gated: it also wants service images by digest.
    pedantic_args = ["--persona", "pedantic", "--format", "json", "--no-exit-codes", ".github"]
    pedantic = run([str(zizmor), "--offline", *pedantic_args], cwd=github_project)
    idents = sorted({f["ident"] for f in json.loads(pedantic.stdout)})
    figure(f"zizmor --offline: 0 findings (regular); pedantic: {idents or 'none'}")


def test_actionlint_with_shellcheck(github_project: Path, tool: Any) -> None:
    bin_dir = tool("workflows")
    require((bin_dir / "actionlint").exists(), "actionlint could not be installed")
    require((bin_dir / "shellcheck").exists(), "shellcheck could not be installed")
    files = [f".github/workflows/{name}" for name in WORKFLOWS]
    run(
        [str(bin_dir / "actionlint"), "-color=false", *files],
        cwd=github_project,
        env=tools_env(bin_dir),
    )


def test_json_schemas(project: Path, tool: Any) -> None:
    check = tool("workflows") / "check-jsonschema"
    require(check.exists(), "check-jsonschema could not be installed")
    if has_github(project):
        files = [str(project / ".github/workflows" / name) for name in WORKFLOWS]
        run([str(check), "--builtin-schema", "vendor.github-workflows", *files], cwd=project)
        run(
            [str(check), "--builtin-schema", "vendor.dependabot", ".github/dependabot.yml"],
            cwd=project,
        )
    if has_gitlab(project):
        run([str(check), "--builtin-schema", "vendor.gitlab-ci", ".gitlab-ci.yml"], cwd=project)


def test_yamllint_strict(project: Path, tool: Any) -> None:
    yamllint = tool("workflows") / "yamllint"
    require(yamllint.exists(), "yamllint could not be installed")
    files = [str(p.relative_to(project)) for p in yaml_files(project)]
    run([str(yamllint), "--strict", "--format", "parsable", *files], cwd=project)


def test_shellcheck_deploy_scripts(project: Path, tool: Any) -> None:
    shellcheck = tool("workflows") / "shellcheck"
    require(shellcheck.exists(), "shellcheck could not be installed")
    scripts = ["scripts/deploy.sh", "scripts/verify-image.sh", "scripts/image-digest.sh"]
    run([str(shellcheck), "--severity=style", *scripts], cwd=project)
    deploy = (project / "scripts/deploy.sh").read_text()
    canary = answers(project)["rollout"] == "canary"
    assert ("rollouts.argoproj.io" in deploy) == canary
    assert "--atomic" in deploy  # Helm rolls back on failure, both strategies


def test_deploy_script_rejects_bad_input(project: Path) -> None:
    for args in (["qa", "sha256:" + "a" * 64], ["staging", "latest"]):
        proc = run_unchecked(["bash", "scripts/deploy.sh", *args], project)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("error:")


def run_unchecked(cmd: list[str], cwd: Path) -> Any:
    import subprocess  # noqa: PLC0415

    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False, timeout=30)


# --------------------------------------------------------------------------- GitHub hardening


def uses_lines(project: Path) -> Iterator[tuple[str, str, str]]:
    for path in sorted((project / ".github/workflows").glob("*.yml")):
        for line in path.read_text().splitlines():
            if match := USES.match(line):
                yield path.name, match["ref"], match["rest"]


def test_every_action_is_pinned_by_commit_sha(github_project: Path) -> None:
    seen: set[str] = set()
    for name, ref, rest in uses_lines(github_project):
        if ref.startswith("./"):
            continue  # this repository's own reusable workflow, at the caller's commit
        action, _, sha = ref.partition("@")
        assert re.fullmatch(r"[0-9a-f]{40}", sha), f"{name}: {ref} is not pinned by a commit SHA"
        assert action in PINS, f"{name}: {action} has no verified pin in this test"
        expected_sha, version = PINS[action]
        assert sha == expected_sha, f"{name}: {action}@{sha} is not the verified {version}"
        assert re.fullmatch(rf"\s+# {re.escape(version)}", rest), (
            f"{name}: {ref} needs '# {version}'"
        )
        seen.add(action)
    assert seen == set(PINS), f"pins no workflow uses: {sorted(set(PINS) - seen)}"


def jobs_of(project: Path) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name, workflow in workflows(project).items():
        for job_id, job in workflow["jobs"].items():
            yield name, job_id, job


def test_least_privilege_timeouts_and_concurrency(github_project: Path) -> None:
    for name, workflow in workflows(github_project).items():
        assert workflow["permissions"] == {}, f"{name}: top-level permissions must be {{}}"
        assert "concurrency" in workflow, f"{name}: no concurrency group"
        # YAML 1.1 reads the key `on` as true.
        triggers = next(value for key, value in workflow.items() if key in ("on", True))
        assert "pull_request_target" not in triggers, name
        assert "workflow_run" not in triggers, name
    for name, job_id, job in jobs_of(github_project):
        where = f"{name}:{job_id}"
        assert "permissions" in job, f"{where}: no job-level permissions"
        assert "write-all" not in str(job["permissions"]), where
        if "uses" in job:
            assert "secrets" not in job, f"{where}: reusable workflows get no secrets"
            continue
        assert isinstance(job.get("timeout-minutes"), int), f"{where}: no timeout-minutes"
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"{where}: checkout"


def test_untrusted_input_reaches_scripts_only_through_env(github_project: Path) -> None:
    for name, job_id, job in jobs_of(github_project):
        for step in job.get("steps", []):
            for expression in EXPRESSION.findall(str(step.get("run", ""))):
                pytest.fail(f"{name}:{job_id}: `${{{{{expression}}}}}` inside run:")


def test_secrets_are_only_the_job_token(github_project: Path) -> None:
    for path in (github_project / ".github/workflows").glob("*.yml"):
        text = path.read_text()
        assert set(re.findall(r"secrets\.(\w+)", text)) <= {"GITHUB_TOKEN"}, path.name
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "aws-access-key-id"):
            assert key not in text, f"{path.name}: long-lived cloud key {key}"


def test_ci_matrix_services_and_gates(github_project: Path) -> None:
    ci = workflows(github_project)["ci.yml"]
    test = ci["jobs"]["test"]
    assert test["strategy"]["matrix"]["python"] == ["3.12", "3.13"]
    assert test["services"]["postgres"]["image"].startswith("postgres:")
    runs = "\n".join(
        str(step.get("run", "")) for job in ci["jobs"].values() for step in job["steps"]
    )
    for command in ("make lint", "make typecheck", "make test", "make migrations-check"):
        assert command in runs, command
    assert "make openapi-check" in runs
    assert "scripts/openapi.py breaking" in runs
    # `make check` runs what this workflow runs: the targets it calls are check's.
    assert set(re.findall(r"make ([a-z-]+)", runs)) == check_prerequisites(github_project)


def check_prerequisites(project: Path) -> set[str]:
    """The targets `make check` runs, read from the generated Makefile."""
    (check,) = re.findall(r"^check:([^#]*)##", (project / "Makefile").read_text(), re.M)
    return set(check.split())


def test_gitlab_quality_jobs_run_what_make_check_runs(gitlab_project: Path) -> None:
    ci = yaml.safe_load((gitlab_project / ".gitlab-ci.yml").read_text())
    scripts = "\n".join("\n".join(ci[job]["script"]) for job in ("lint", "test", "openapi"))
    assert set(re.findall(r"make ([a-z-]+)", scripts)) == check_prerequisites(gitlab_project)


def test_security_release_and_deploy_jobs(github_project: Path) -> None:
    flows = workflows(github_project)
    security = flows["security.yml"]["jobs"]
    assert {"bandit", "codeql", "pip-audit", "hadolint", "checkov", "zizmor", "dast", "zap"} <= set(
        security
    )
    release = flows["release.yml"]["jobs"]
    assert release["image"]["permissions"] == {
        "contents": "write",
        "packages": "write",
        "id-token": "write",
        "attestations": "write",
    }
    release_text = (github_project / ".github/workflows/release.yml").read_text()
    for needle in ("cosign sign --yes", "cosign attest", "make sbom", "gh release upload"):
        assert needle in release_text, needle
    assert release["deploy"]["uses"] == "./.github/workflows/deploy.yml"

    deploy = flows["deploy.yml"]["jobs"]
    assert deploy["staging"]["environment"] == "staging"
    assert deploy["production"]["environment"] == "production"
    assert deploy["production"]["needs"] == "staging"
    for job in deploy.values():
        assert job["permissions"]["id-token"] == "write"
        steps = [str(s.get("uses", "")) + str(s.get("run", "")) for s in job["steps"]]
        assert any("configure-aws-credentials" in s for s in steps)
        assert any("scripts/verify-image.sh" in s for s in steps)
        assert any("scripts/deploy.sh" in s for s in steps)
    id_token_jobs = {
        f"{name}:{job_id}"
        for name, job_id, job in jobs_of(github_project)
        if job["permissions"].get("id-token") == "write"
    }
    assert id_token_jobs == {
        "release.yml:image",
        "release.yml:deploy",
        "deploy.yml:staging",
        "deploy.yml:production",
    }


def test_dependabot_covers_every_ecosystem_grouped(github_project: Path) -> None:
    config = yaml.safe_load((github_project / ".github/dependabot.yml").read_text())
    updates = {u["package-ecosystem"]: u for u in config["updates"]}
    assert set(updates) == {"uv", "github-actions", "docker", "helm"}
    for ecosystem, update in updates.items():
        assert update["groups"], ecosystem
        assert update["cooldown"]["default-days"] >= 1, ecosystem
        assert (github_project / update["directory"].lstrip("/")).is_dir(), ecosystem


def test_release_please_bumps_every_version(github_project: Path) -> None:
    config = json.loads((github_project / "release-please-config.json").read_text())
    package = config["packages"]["."]
    paths = {extra["path"] for extra in package["extra-files"]}
    chart = "deploy/helm/orders-service/Chart.yaml"
    assert {"uv.lock", chart, "openapi.json", "src/orders_service/app.py"} <= paths
    jsonpaths = {e["jsonpath"] for e in package["extra-files"] if e["path"] == chart}
    assert jsonpaths == {"$.version", "$.appVersion"}
    assert "x-release-please-version" in (github_project / "src/orders_service/app.py").read_text()
    manifest = json.loads((github_project / ".release-please-manifest.json").read_text())
    pyproject = (github_project / "pyproject.toml").read_text()
    assert f'version = "{manifest["."]}"' in pyproject


# --------------------------------------------------------------------------- GitLab


def test_gitlab_pipeline_stages_oidc_and_security(gitlab_project: Path) -> None:
    pipeline = yaml.safe_load((gitlab_project / ".gitlab-ci.yml").read_text())
    assert pipeline["stages"] == ["lint", "test", "build", "security", "release", "deploy"]
    assert pipeline["test"]["parallel"]["matrix"] == [{"PYTHON": ["3.12", "3.13"]}]
    for job in ("bandit", "pip-audit", "hadolint", "checkov", "dast", "zap-staging", "sbom"):
        assert job in pipeline, job
    assert pipeline["sbom"]["artifacts"]["reports"]["cyclonedx"] == ["sbom.cdx.json"]
    assert pipeline[".deploy"]["id_tokens"]["AWS_ID_TOKEN"]["aud"] == "sts.amazonaws.com"
    assert pipeline["sign"]["id_tokens"]["SIGSTORE_ID_TOKEN"]["aud"] == "sigstore"
    assert pipeline["deploy-production"]["needs"][-1] == "deploy-staging"
    assert pipeline["deploy-production"]["rules"][0]["when"] == "manual"
    text = (gitlab_project / ".gitlab-ci.yml").read_text()
    assert "AWS_ACCESS_KEY_ID" not in text
    templates = {item["template"] for item in pipeline["include"]}
    assert {"Jobs/SAST.gitlab-ci.yml", "Jobs/Secret-Detection.gitlab-ci.yml"} <= templates
