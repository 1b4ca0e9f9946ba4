"""Read GitHub workflows and `.gitlab-ci.yml` into jobs of steps the local runner executes.

GitHub: each job (each matrix entry its own job) with its `env`, `services` and steps. GitLab:
each visible job with `extends:` and `default:` resolved, `parallel: matrix` expanded, and its
`before_script` + `script` lines as steps that run in one shell, as the GitLab runner does.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from tests.support.deep_merge import merge  # `extends:` merging
from tests.support.pipeline_expr import PipelineError

GITLAB_KEYWORDS = {"default", "include", "stages", "variables", "workflow", "image", "services"}
GITLAB_DEFAULTS = ("before_script", "after_script", "image", "services", "timeout", "cache")
# Keys the runner reproduces (or that do not change what a script does); any other is an error.
GITHUB_JOB_KEYS = {
    "name", "runs-on", "timeout-minutes", "permissions", "strategy", "services", "env", "steps",
    "if", "needs", "outputs", "environment", "concurrency", "uses", "with", "secrets",
}  # fmt: skip
GITHUB_STEP_KEYS = {"name", "id", "uses", "with", "run", "env", "if", "working-directory", "shell"}
GITLAB_JOB_KEYS = {
    "extends", "stage", "image", "services", "variables", "script", "before_script",
    "after_script", "parallel", "needs", "rules", "timeout", "cache", "artifacts", "coverage",
    "interruptible", "environment", "id_tokens", "resource_group", "release",
}  # fmt: skip
DEFAULT_GITLAB_TIMEOUT = 3600.0
DEFAULT_GITHUB_TIMEOUT = 360 * 60.0


@dataclass(frozen=True)
class Service:
    """A service container as the job declares it (image, and the host names that reach it)."""

    image: str
    hosts: tuple[str, ...]
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One GitHub step, or one GitLab script line (`label` is then the line itself)."""

    label: str
    run: str | None = None
    uses: str | None = None
    with_: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    condition: str | bool | None = None
    step_id: str | None = None
    working_directory: str | None = None


@dataclass(frozen=True)
class Job:
    system: Literal["github", "gitlab"]
    pipeline: str  # "ci.yml", or ".gitlab-ci.yml"
    job_id: str  # the key in the file; exclusions and substitutions name this
    key: str  # job_id plus its matrix entry, e.g. "test[python=3.12]"
    name: str
    env: Mapping[str, str]  # GitHub: workflow env then job env; GitLab: global then job variables
    steps: tuple[Step, ...]
    services: tuple[Service, ...] = ()
    matrix: Mapping[str, str] = field(default_factory=dict)
    condition: str | bool | None = None
    timeout: float = DEFAULT_GITHUB_TIMEOUT
    definition: Mapping[str, Any] = field(default_factory=dict)


def strings(mapping: Mapping[str, Any] | None) -> dict[str, str]:
    """YAML scalars as the strings CI exports (`1` is "1", `true` is "true")."""
    out: dict[str, str] = {}
    for key, value in (mapping or {}).items():
        out[str(key)] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def matrix_entries(matrix: Mapping[str, Any] | None) -> list[dict[str, str]]:
    if not matrix:
        return [{}]
    unknown = set(matrix) - {key for key, value in matrix.items() if isinstance(value, list)}
    if unknown:
        raise PipelineError(f"matrix keys {sorted(unknown)} (include/exclude) are not expanded")
    keys = list(matrix)
    return [
        dict(zip(keys, map(str, combo), strict=True))
        for combo in itertools.product(*(matrix[k] for k in keys))
    ]


def matrix_key(job_id: str, matrix: Mapping[str, str]) -> str:
    if not matrix:
        return job_id
    return f"{job_id}[{','.join(f'{k}={v}' for k, v in matrix.items())}]"


# --------------------------------------------------------------------------- GitHub


def known(where: str, keys: Any, allowed: set[str]) -> None:
    unknown = sorted(set(keys) - allowed)
    if unknown:
        raise PipelineError(f"{where}: {unknown} not reproduced by the local runner")


def github_jobs(path: Path) -> list[Job]:
    workflow = yaml.safe_load(path.read_text())
    if "defaults" in workflow:
        raise PipelineError(f"{path.name}: `defaults:` is not reproduced by the local runner")
    jobs: list[Job] = []
    for job_id, job in workflow["jobs"].items():
        known(f"{path.name}:{job_id}", job, GITHUB_JOB_KEYS)
        steps = tuple(github_step(step) for step in job.get("steps", []))
        services = tuple(github_service(spec) for spec in (job.get("services") or {}).values())
        for entry in matrix_entries((job.get("strategy") or {}).get("matrix")):
            jobs.append(
                Job(
                    system="github",
                    pipeline=path.name,
                    job_id=job_id,
                    key=matrix_key(job_id, entry),
                    name=str(job.get("name", job_id)),
                    env={**strings(workflow.get("env")), **strings(job.get("env"))},
                    steps=steps,
                    services=services,
                    matrix=entry,
                    condition=job.get("if"),
                    timeout=float(job.get("timeout-minutes", 360)) * 60,
                    definition=job,
                )
            )
    return jobs


def github_step(step: Mapping[str, Any]) -> Step:
    known(f"step {step.get('name') or step.get('run') or step.get('uses')}", step, GITHUB_STEP_KEYS)
    run, uses = step.get("run"), step.get("uses")
    if step.get("shell", "bash") != "bash":
        raise PipelineError(f"shell {step['shell']!r} is not reproduced locally")
    label = step.get("name") or (str(run).strip().splitlines()[0] if run else str(uses))
    return Step(
        label=str(label),
        run=None if run is None else str(run),
        uses=None if uses is None else str(uses),
        with_=dict(step.get("with") or {}),
        env=strings(step.get("env")),
        condition=step.get("if"),
        step_id=step.get("id"),
        working_directory=step.get("working-directory"),
    )


def github_service(spec: Mapping[str, Any]) -> Service:
    """A GitHub service is reached on the runner at localhost and the host side of its ports."""
    ports = [str(p).split(":")[0] for p in spec.get("ports", [])]
    hosts = tuple(f"{host}:{port}" for port in ports for host in ("127.0.0.1", "localhost"))
    return Service(image=str(spec["image"]), hosts=hosts, variables=strings(spec.get("env")))


# --------------------------------------------------------------------------- GitLab


def resolve(pipeline: Mapping[str, Any], name: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    if name in seen:
        raise PipelineError(f"extends: cycle through {name}")
    job = dict(pipeline[name])
    parents = job.pop("extends", [])
    resolved: dict[str, Any] = {}
    for parent in [parents] if isinstance(parents, str) else parents:
        resolved = merge(resolved, resolve(pipeline, parent, (*seen, name)))
    return merge(resolved, job)


def lines(value: str | list[Any] | None) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    out: list[str] = []
    for item in items:  # GitLab flattens nested lists (YAML anchors)
        out.extend(lines(item) if isinstance(item, list) else [str(item)])
    return out


def gitlab_jobs(path: Path) -> list[Job]:
    pipeline = yaml.safe_load(path.read_text())
    defaults = pipeline.get("default") or {}
    jobs: list[Job] = []
    for job_id in pipeline:
        if job_id in GITLAB_KEYWORDS or str(job_id).startswith("."):
            continue
        job = {**{k: v for k, v in defaults.items() if k in GITLAB_DEFAULTS}}
        job.update(resolve(pipeline, job_id))
        known(f"{path.name}:{job_id}", job, GITLAB_JOB_KEYS)
        script = [
            *(("before_script", line) for line in lines(job.get("before_script"))),
            *(("script", line) for line in lines(job.get("script"))),
        ]
        steps = tuple(Step(label=line, run=line) for _, line in script)
        services = tuple(gitlab_service(spec) for spec in job.get("services") or [])
        entries = [
            entry
            for group in ((job.get("parallel") or {}).get("matrix") or [{}])
            for entry in matrix_entries(group)
        ]
        for entry in entries:
            jobs.append(
                Job(
                    system="gitlab",
                    pipeline=path.name,
                    job_id=str(job_id),
                    key=matrix_key(str(job_id), entry),
                    name=str(job_id),
                    env={
                        **strings(pipeline.get("variables")),
                        **strings(job.get("variables")),
                        **entry,
                    },
                    steps=steps,
                    services=services,
                    matrix=entry,
                    timeout=gitlab_timeout(job.get("timeout")),
                    definition=job,
                )
            )
    return jobs


def gitlab_service(spec: str | Mapping[str, Any]) -> Service:
    """Reached at its alias, or at the image name without tag (`/` becomes `__` and `-`)."""
    entry: dict[str, Any] = {"name": spec} if isinstance(spec, str) else dict(spec)
    image = str(entry["name"])
    bare = image.partition("@")[0]
    if ":" in bare.rpartition("/")[2]:
        bare = bare.rpartition(":")[0]
    hosts = (str(entry["alias"]),) if "alias" in entry else (bare.replace("/", "__"),)
    return Service(image=image, hosts=hosts, variables=strings(entry.get("variables")))


def gitlab_timeout(value: str | None) -> float:
    if value is None:
        return DEFAULT_GITLAB_TIMEOUT
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    total = 0.0
    for amount, unit in re.findall(r"(\d+)\s*([hms])", str(value)):
        total += float(amount) * units[unit]
    if total <= 0:
        raise PipelineError(f"timeout {value!r} is not understood")
    return total
