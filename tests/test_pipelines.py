"""Every job of the generated pipelines that needs no registry, cloud or forge API, executed.

tests/test_workflows.py checks the pipelines' structure; here each job's `run:` steps (GitHub)
and `script:` lines (GitLab) run in a fresh clone of a generated project, with the job's own
env/variables and its services mapped to this machine's (tests/support/pipeline.py). A job that
is not run is in EXCLUDED with the reason; a new job is run by default, and fails loudly on any
action, image or expression the local runner has no equivalent for.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from tests.options import DEEP, DEFAULTS, combo_id
from tests.support.env import TEMPLATE, project_env, require
from tests.support.pipeline import (
    JobRun,
    Locals,
    LocalService,
    ServiceProvider,
    StepFailed,
    Substitute,
    run_job,
)
from tests.support.pipeline_expr import PipelineError
from tests.support.pipeline_gitlab import artifact_paths, needs
from tests.support.pipeline_load import Job, Service, github_jobs, gitlab_jobs
from tests.support.pipeline_local import commit_repository, machine_locals
from tests.support.project import generate, make_install
from tests.support.timing import Figure

SLUG = TEMPLATE / "{{cookiecutter.project_slug}}"
WORKFLOWS = ("ci.yml", "security.yml", "release.yml", "deploy.yml")
GITLAB = ".gitlab-ci.yml"
# (pipeline, job id): why it cannot run on this machine. Everything else runs.
EXCLUDED = {
    ("security.yml", "codeql"): "CodeQL runs in GitHub's code scanning (github/codeql-action)",
    ("security.yml", "pip-audit"): "pip-audit needs its online vulnerability database",
    ("security.yml", "zap"): "OWASP ZAP is a container image scanning the staging environment",
    ("release.yml", "release-please"): "release-please works through the GitHub API",
    ("release.yml", "deploy"): "deploy.yml: a cloud deployment",
    ("deploy.yml", "staging"): "cloud deployment (OIDC role, EKS, signed image in GHCR)",
    ("deploy.yml", "production"): "cloud deployment (OIDC role, EKS, signed image in GHCR)",
    (GITLAB, "dast-image"): "docker build and push to the GitLab registry",
    (GITLAB, "sast"): "GitLab's SAST template: its analyzers are registry images",
    (GITLAB, "secret_detection"): "GitLab's secret detection template: a registry image",
    (GITLAB, "pip-audit"): "pip-audit needs its online vulnerability database",
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


JOB_CASES = [
    (index, job.pipeline, job.key)
    for index, answers in enumerate(DEEP)
    for job in runnable({**DEFAULTS, **answers}["ci"])
]
JOB_PARAMS = [
    pytest.param(
        (index, pipeline, key),
        id=f"{combo_id(DEEP[index])}-{pipeline}:{key}",
        marks=[pytest.mark.deep, pytest.mark.xdist_group(f"pipelines{index}")],
    )
    for index, pipeline, key in JOB_CASES
]


@dataclass(frozen=True)
class Generated:
    root: Path
    locals: Locals


@pytest.fixture(scope="module")
def generated(
    tmp_path_factory: pytest.TempPathFactory, tool: Callable[[str], Path]
) -> Callable[[int], Generated]:
    """Each deep combination once: locked, installed (the image's stand-in), committed as `main`.

    A cache rather than a parametrized fixture: pytest would set that up again for every job.
    """
    cache: dict[int, Generated] = {}

    def get(index: int) -> Generated:
        if index not in cache:
            out = tmp_path_factory.mktemp("pipelines")
            cache[index] = make_generated(DEEP[index], out, tool("chart") / "python")
        return cache[index]

    return get


def make_generated(answers: dict[str, str], out: Path, helm_python: Path) -> Generated:
    require(helm_python.exists(), "the chart tool virtualenv (helm stand-in) could not be built")
    env = project_env({**DEFAULTS, **answers}["python_version"])
    root = generate(answers, out, lock_with=env)
    make_install(root, env, answers)
    context = json.loads((root / ".cruft.json").read_text())["context"]["cookiecutter"]
    version = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    sha = commit_repository(root, f"v{version}")
    locals_ = machine_locals(
        root, env=env, answers=context, sha=sha, version=version, helm_python=helm_python
    )
    skipped = {key: Substitute(reason) for key, reason in SKIPPED_STEPS.items()}
    locals_ = replace(
        locals_, substitutes={**locals_.substitutes, **skipped}, artifacts=out / "artifacts"
    )
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
    jobs = {j.job_id: j for j in load(project.root, pipeline)}
    store = project.locals.artifacts
    try:
        for need in needs(job) if job.system == "gitlab" else []:  # GitLab artifacts it needs
            if (
                need in jobs
                and artifact_paths(jobs[need])
                and store
                and not (store / need).exists()
            ):
                run_job(jobs[need], project.locals, tmp_path / need, tmp_path / f"{need}-runner")
        report = run_job(job, project.locals, tmp_path / "work", tmp_path / "runner")
    except StepFailed as error:
        failure = str(error)  # reported below, without the runner's traceback
    else:
        failure = ""
    if failure:
        pytest.fail(failure, pytrace=False)
    assert any(step.status == "ran" for step in report.steps), report.summary()
    figure(report.summary())


def test_every_job_is_run_or_excluded_with_a_reason(figure: Figure) -> None:
    """A new job runs by default; an exclusion names an existing job and says why."""
    every = {(job.pipeline, job.job_id) for job in template_jobs("both")}
    stale = sorted(set(EXCLUDED) - every)
    assert not stale, f"exclusions of jobs that no longer exist: {stale}"
    assert all(len(reason) > 20 for reason in EXCLUDED.values())
    ran = {(pipeline, key) for _, pipeline, key in JOB_CASES}
    for job in template_jobs("both"):
        is_run = (job.pipeline, job.key) in ran
        assert is_run != ((job.pipeline, job.job_id) in EXCLUDED), (job.pipeline, job.key)
    answers = {**DEFAULTS, "github_owner": "o", "project_slug": "s", "package_name": "p"}
    stand_ins = machine_locals(
        Path(),
        env={"PATH": "", "UV_PYTHON": ""},
        answers=answers,
        sha="0",
        version="0.1.0",
        helm_python=Path("python"),
    )
    steps = {
        (job.pipeline, job.job_id, name)
        for job in template_jobs("both")
        for step in job.steps
        for name in (step.label, (step.uses or "").split("@", 1)[0])
    }
    for pipeline, job_id, step in [*SKIPPED_STEPS, *stand_ins.substitutes]:
        if job_id == "*":
            assert any(s[0] == pipeline and s[2] == step for s in steps), step
        else:
            assert (pipeline, job_id) not in EXCLUDED, f"{pipeline}:{job_id} is not run"
            assert (pipeline, job_id, step) in steps, f"{pipeline}:{job_id} has no step {step}"
    both = template_jobs("both")
    figure(
        f"ci=both: {sum((j.pipeline, j.job_id) not in EXCLUDED for j in both)} of {len(both)} "
        f"jobs (matrix entries counted) run; {len(SKIPPED_STEPS)} steps of run jobs skipped, "
        f"{len(stand_ins.substitutes)} steps or lines replaced by local equivalents"
    )


# --------------------------------------------------------------------------- the runner itself


def synthetic(tmp_path: Path, services: Sequence[tuple[str, int, ServiceProvider]] = ()) -> Locals:
    """Locals for a tiny pipeline: checkout makes an empty repository directory."""
    return Locals(
        base_env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        checkout=lambda dest, ref: dest.mkdir(parents=True, exist_ok=True),
        actions={"actions/checkout": lambda run, step, inputs: None},
        services=services,
        images=[("python:*", lambda run, image: {})],
        github={"event_name": "pull_request", "token": None},
    )


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_runner_fails_a_github_job_whose_step_exits_1(tmp_path: Path) -> None:
    workflow = write(
        tmp_path / "ci.yml",
        """
jobs:
  check:
    name: Check
    strategy: {matrix: {python: ["3.12", "3.13"]}}
    env: {WANTED: "${{ matrix.python }}", TOKEN: "${{ secrets.NOPE }}"}
    steps:
      - uses: actions/checkout@0000000000000000000000000000000000000000
      - id: probe
        run: echo "run=true" >> "$GITHUB_OUTPUT"
      - name: wanted
        if: steps.probe.outputs.run == 'true' && github.event_name == 'pull_request'
        run: test -z "${TOKEN+set}" && echo "$WANTED" > wanted
      - name: boom
        run: |
          echo before
          false | cat
          echo after
      - name: never
        run: touch never
      - name: cleanup
        if: always()
        run: touch cleaned
""",
    )
    jobs = github_jobs(workflow)
    assert [job.key for job in jobs] == ["check[python=3.12]", "check[python=3.13]"]
    work = tmp_path / "work"
    with pytest.raises(StepFailed) as failed:
        run_job(jobs[1], synthetic(tmp_path), work, tmp_path / "runner")
    message = str(failed.value)
    assert "job check[python=3.13] (Check): step `boom` exited 1" in message
    assert "false | cat" in message  # pipefail: a failing pipeline fails the step
    assert "before" in message
    assert "after" not in message.split("--- output (tail) ---")[1]
    assert (work / "wanted").read_text() == "3.13\n"
    assert not (work / "never").exists()
    assert (work / "cleaned").exists()


def test_runner_fails_loudly_on_what_it_cannot_reproduce(tmp_path: Path) -> None:
    cases = {
        "run: echo ${{ vars.STAGING_URL }}": "vars.STAGING_URL",
        "run: echo ${{ hashFiles('uv.lock') }}": "hashFiles()",
        "uses: docker/login-action@v3": "no local equivalent for `uses: docker/login-action@v3`",
        "run: echo ${{ github.run_attempt }}": "github.run_attempt is not simulated",
        "run: echo ${{ steps.typo.outputs.run }}": "no step has the id typo",
    }
    for index, (step, error) in enumerate(cases.items()):
        workflow = write(tmp_path / f"w{index}.yml", f"jobs:\n  j:\n    steps:\n      - {step}\n")
        with pytest.raises(PipelineError, match=re.escape(error)):
            run_job(github_jobs(workflow)[0], synthetic(tmp_path), tmp_path / f"w{index}", tmp_path)
    skipped = write(tmp_path / "push.yml", "jobs:\n  j:\n    if: github.event_name == 'push'\n")
    with pytest.raises(PipelineError, match="is false in the simulated run"):
        run_job(github_jobs(skipped)[0], synthetic(tmp_path), tmp_path / "push", tmp_path)
    tolerant = write(tmp_path / "t.yml", "jobs:\n  j:\n    continue-on-error: true\n")
    with pytest.raises(PipelineError, match=r"\['continue-on-error'\] not reproduced"):
        github_jobs(tolerant)


def test_runner_gitlab_one_shell_extends_and_the_failing_line(tmp_path: Path) -> None:
    pipeline = write(
        tmp_path / ".gitlab-ci.yml",
        """
variables: {GREETING: hello, IMAGE_TAG: "$CI_COMMIT_SHA"}
default:
  before_script: [echo "$GREETING" > greeted]
.base:
  image: python:3.13-slim
  variables: {LEVEL: base}
early-exit:
  extends: .base
  script:
    - exit 0
    - touch never
broken:
  extends: .base
  parallel: {matrix: [{N: ["1", "2"]}]}
  script:
    - echo "$LEVEL $N $IMAGE_TAG" > seen
    - test "$N" = 1
    - touch after
""",
    )
    jobs = {job.key: job for job in gitlab_jobs(pipeline)}
    assert set(jobs) == {"early-exit", "broken[N=1]", "broken[N=2]"}
    locals_ = replace(synthetic(tmp_path), gitlab={"CI_COMMIT_SHA": "abc"})
    run_job(jobs["early-exit"], locals_, tmp_path / "a", tmp_path / "ra")
    assert (tmp_path / "a/greeted").read_text() == "hello\n"
    assert not (tmp_path / "a/never").exists(), "exit 0 ends the whole script, as on GitLab"
    run_job(jobs["broken[N=1]"], locals_, tmp_path / "b", tmp_path / "rb")
    assert (tmp_path / "b/after").exists()
    with pytest.raises(StepFailed, match=r'script line `test "\$N" = 1` failed'):
        run_job(jobs["broken[N=2]"], locals_, tmp_path / "c", tmp_path / "rc")
    assert (tmp_path / "c/seen").read_text() == "base 2 abc\n"
    assert not (tmp_path / "c/after").exists()


def test_runner_points_service_urls_at_the_local_service(tmp_path: Path) -> None:
    """The job's `postgres` host and its database become the local server and scratch database."""

    @contextmanager
    def fake_postgres(run: JobRun, service: Service) -> Iterator[LocalService]:
        yield LocalService("127.0.0.1", 15432, 5432, "scratch_1")

    pipeline = write(
        tmp_path / ".gitlab-ci.yml",
        """
test:
  image: python:3.13-slim
  services: [{name: "postgres:17", alias: postgres}]
  variables:
    DATABASE_URL: postgresql+asyncpg://postgres:pw@postgres:5432/postgres
    OTHER: redis://redis:6379/0
  script:
    - echo "$DATABASE_URL $OTHER" > urls
    - echo http://postgres:5432/x >> urls
""",
    )
    locals_ = synthetic(tmp_path, [("postgres:*", 5432, fake_postgres)])
    run_job(gitlab_jobs(pipeline)[0], locals_, tmp_path / "w", tmp_path / "r")
    assert (tmp_path / "w/urls").read_text().split() == [
        "postgresql+asyncpg://postgres:pw@127.0.0.1:15432/scratch_1",
        "redis://redis:6379/0",
        "http://127.0.0.1:15432/scratch_1",
    ]
    workflow = write(
        tmp_path / "ci.yml",
        """
jobs:
  test:
    services:
      postgres: {image: "postgres:17", ports: ["5432:5432"]}
    env:
      TEST_DATABASE_URL: postgresql+asyncpg://postgres:postgres@127.0.0.1:5432/postgres
    steps:
      - env: {DATABASE_URL: "${{ env.TEST_DATABASE_URL }}"}
        run: echo "$TEST_DATABASE_URL $DATABASE_URL" > urls
""",
    )
    run_job(github_jobs(workflow)[0], locals_, tmp_path / "g", tmp_path / "rg")
    assert (tmp_path / "g/urls").read_text().split() == [
        "postgresql+asyncpg://postgres:postgres@127.0.0.1:15432/scratch_1"
    ] * 2
