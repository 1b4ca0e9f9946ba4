"""Every job of the generated pipelines that needs no registry, cloud or forge API, executed.

tests/test_workflows.py checks the pipelines' structure; here each job's `run:` steps (GitHub)
and `script:` lines (GitLab) run in a fresh clone of a generated project, with the job's own
env/variables and its services mapped to this machine's (tests/support/pipeline.py). A job that
is not run is in EXCLUDED with the reason; a new job is run by default, and fails loudly on any
action, image or expression the local runner has no equivalent for.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from tests.conftest import TEMPLATE, Figure, generate, project_env, run
from tests.options import DEEP, DEFAULTS, combo_id
from tests.support.pipeline import Locals, StepFailed, Substitute, run_job
from tests.support.pipeline_load import Job, github_jobs, gitlab_jobs
from tests.support.pipeline_local import commit_repository, machine_locals

SLUG = TEMPLATE / "{{cookiecutter.project_slug}}"
WORKFLOWS = ("ci.yml", "security.yml", "release.yml", "deploy.yml")
GITLAB = ".gitlab-ci.yml"
# (pipeline, job id): why it cannot run on this machine. Everything else runs.
EXCLUDED = {
    ("security.yml", "codeql"): "CodeQL runs in GitHub's code scanning (github/codeql-action)",
    ("security.yml", "pip-audit"): "pip-audit needs its online vulnerability database",
    ("security.yml", "checkov"): "needs the helm CLI (azure/setup-helm downloads it); "
    "tests/test_chart.py renders the chart with Helm's Go SDK and runs checkov on it",
    ("security.yml", "zap"): "OWASP ZAP is a container image scanning the staging environment",
    ("release.yml", "release-please"): "release-please works through the GitHub API",
    ("release.yml", "deploy"): "deploy.yml: a cloud deployment",
    ("deploy.yml", "staging"): "cloud deployment (OIDC role, EKS, signed image in GHCR)",
    ("deploy.yml", "production"): "cloud deployment (OIDC role, EKS, signed image in GHCR)",
    (GITLAB, "dast-image"): "docker build and push to the GitLab registry",
    (GITLAB, "sast"): "GitLab's SAST template: its analyzers are registry images",
    (GITLAB, "secret_detection"): "GitLab's secret detection template: a registry image",
    (GITLAB, "pip-audit"): "pip-audit needs its online vulnerability database",
    (GITLAB, "chart-render"): "runs in the alpine/k8s image for its helm CLI (none here); "
    "tests/test_chart.py lints and renders the chart with Helm's Go SDK",
    (GITLAB, "checkov"): "its input is chart-render's artifact; tests/test_chart.py runs checkov",
    (GITLAB, "zap-staging"): "OWASP ZAP is a container image scanning the staging environment",
    (GITLAB, "version"): "python-semantic-release pushes tags through the GitLab API (GL_TOKEN)",
    (GITLAB, "release-image"): "docker build and push to the GitLab registry",
    (GITLAB, "sign"): "cosign signs in the registry with a Sigstore OIDC token",
    (GITLAB, "release"): "release-cli creates the release through the GitLab API",
    (GITLAB, "deploy-staging"): "cloud deployment (OIDC role, EKS)",
    (GITLAB, "deploy-production"): "cloud deployment (OIDC role, EKS)",
}
# Steps of run jobs that need a registry, Sigstore or the GitHub API: (pipeline, job, step).
SKIPPED_STEPS = {
    ("release.yml", "image", "docker/setup-buildx-action"): "builds for a registry push",
    ("release.yml", "image", "docker/login-action"): "logs in to GHCR",
    ("release.yml", "image", "docker/build-push-action"): "pushes the image to GHCR",
    ("release.yml", "image", "sigstore/cosign-installer"): "cosign signs in the registry",
    (
        "release.yml",
        "image",
        "Sign the image and attest the SBOM (keyless, Sigstore via GitHub OIDC)",
    ): "keyless signing needs GitHub's OIDC token and the pushed image",
    ("release.yml", "image", "actions/attest-build-provenance"): "GitHub attestations API",
    ("release.yml", "image", "Attach the SBOM to the release"): "GitHub releases API",
}


def template_jobs(ci: str) -> list[Job]:
    """The jobs of the template's pipelines (job ids do not depend on the answers)."""
    jobs: list[Job] = []
    if ci in {"github", "both"}:
        for name in WORKFLOWS:
            jobs += github_jobs(SLUG / ".github/workflows" / name)
    if ci in {"gitlab", "both"}:
        jobs += gitlab_jobs(SLUG / GITLAB)
    return jobs


def runnable(ci: str) -> list[Job]:
    return [job for job in template_jobs(ci) if (job.pipeline, job.job_id) not in EXCLUDED]


JOB_PARAMS = [
    pytest.param(
        (index, job.pipeline, job.key),
        id=f"{combo_id(answers)}-{job.pipeline}:{job.key}",
        marks=[pytest.mark.deep, pytest.mark.xdist_group(f"pipelines{index}")],
    )
    for index, answers in enumerate(DEEP)
    for job in runnable({**DEFAULTS, **answers}["ci"])
]


@dataclass(frozen=True)
class Generated:
    root: Path
    locals: Locals


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], Generated]:
    """Each deep combination once: locked, installed (the image's stand-in), committed as `main`.

    A cache rather than a parametrized fixture: pytest would set that up again for every job.
    """
    cache: dict[int, Generated] = {}

    def get(index: int) -> Generated:
        if index not in cache:
            cache[index] = make_generated(DEEP[index], tmp_path_factory.mktemp("pipelines"))
        return cache[index]

    return get


def make_generated(answers: dict[str, str], out: Path) -> Generated:
    env = project_env({**DEFAULTS, **answers}["python_version"])
    root = generate(answers, out, lock_with=env)
    run(["make", "install"], cwd=root, env=env, timeout=600)
    context = json.loads((root / ".cruft.json").read_text())["context"]["cookiecutter"]
    version = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    sha = commit_repository(root, f"v{version}")
    locals_ = machine_locals(root, env, context, sha, version)
    skipped = {key: Substitute(reason) for key, reason in SKIPPED_STEPS.items()}
    locals_ = replace(locals_, substitutes={**locals_.substitutes, **skipped})
    return Generated(root, locals_)


def load(root: Path, pipeline: str) -> list[Job]:
    path = root / (GITLAB if pipeline == GITLAB else f".github/workflows/{pipeline}")
    return gitlab_jobs(path) if pipeline == GITLAB else github_jobs(path)


@pytest.mark.parametrize("case", JOB_PARAMS)
def test_job_runs(
    generated: Callable[[int], Generated],
    case: tuple[int, str, str],
    tmp_path: Path,
    figure: Figure,
) -> None:
    combo, pipeline, key = case
    project = generated(combo)
    job = next((j for j in load(project.root, pipeline) if j.key == key), None)
    assert job is not None, f"{pipeline}: no job {key} in the generated project"
    try:
        report = run_job(job, project.locals, tmp_path / "work", tmp_path / "runner")
    except StepFailed as failure:
        pytest.fail(str(failure), pytrace=False)
    assert any(step.status == "ran" for step in report.steps), report.summary()
    figure(report.summary())
