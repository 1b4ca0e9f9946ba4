"""Run a generated pipeline's job on this machine, step by step, as its CI would.

GitHub: each `run:` step in `bash --noprofile --norc -eo pipefail` (GitHub's default shell) in
the job's working directory, env = runner variables + workflow env + job env + step env, with
`${{ }}` expanded (`tests.support.pipeline_expr`) and `$GITHUB_OUTPUT`/`$GITHUB_ENV`/`$GITHUB_PATH`
honoured; each `uses:` step is replaced by its local equivalent (`Locals.actions`). GitLab: the
job's `before_script` and `script` lines in one `bash -eo pipefail` shell with its variables.
Services are the machine's own (`Locals.services`): URLs that name a service's host (`postgres`,
`127.0.0.1:5432`...) are rewritten to the local one, and a database service's path to the
scratch database made for the job, so no job touches a database it did not create.

What is not reproduced raises `PipelineError`; a failing step raises `StepFailed`.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.support.pipeline_expr import (
    PipelineError,
    Value,
    condition,
    expand_gitlab,
    interpolate,
)
from tests.support.pipeline_load import Job, Service, Step

URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s\"'`)]+")
TAIL = 4000


class StepFailed(AssertionError):
    """A step (or GitLab script line) of a job exited non-zero: the message says which."""


@dataclass(frozen=True)
class LocalService:
    """Where a service runs on this machine; `database` replaces the path of URLs to it."""

    host: str
    port: int
    container_port: int
    database: str | None = None


@dataclass(frozen=True)
class Substitute:
    """What runs instead of a step or script line, and why the original cannot run here."""

    reason: str
    shell: str | None = None
    action: Callable[[JobRun], None] | None = None


Action = Callable[["JobRun", Step, Mapping[str, str]], None]
ServiceProvider = Callable[["JobRun", Service], AbstractContextManager[LocalService]]


@dataclass(frozen=True)
class Locals:
    """This machine's stand-ins for a CI runner: env, actions, images, services, contexts."""

    base_env: Mapping[str, str]
    checkout: Callable[[Path, str | None], None]
    actions: Mapping[str, Action] = field(default_factory=dict)
    services: Sequence[tuple[str, int, ServiceProvider]] = ()  # image pattern, port, provider
    images: Sequence[tuple[str, Callable[[JobRun, str], dict[str, str]]]] = ()
    substitutes: Mapping[tuple[str, str, str], Substitute] = field(default_factory=dict)
    github: Mapping[str, str | None] = field(default_factory=dict)
    needs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    gitlab: Mapping[str, str] = field(default_factory=dict)


def shown(label: str, lookup: Callable[[str], Value]) -> str:
    """A step name as GitHub shows it (`${{ matrix.python }}` expanded) when it can be."""
    try:
        return interpolate(label, lookup)
    except PipelineError:
        return label


@dataclass
class StepReport:
    label: str
    status: str  # "ran", "failed", "skipped (if: ...)", "local: ...", "substituted: ..."
    seconds: float = 0.0


@dataclass
class JobRun:
    """One job's state while it runs: its directory, env, step outputs and services."""

    job: Job
    locals: Locals
    workdir: Path
    temp: Path
    stack: ExitStack
    env: dict[str, str] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    services: list[tuple[Service, LocalService]] = field(default_factory=list)
    steps: list[StepReport] = field(default_factory=list)
    failure: str | None = None

    def rewrite(self, text: str) -> str:
        """URLs to a service's in-CI address become URLs to the machine's service."""

        def replace(match: re.Match[str]) -> str:
            parts = urlsplit(match[0])
            address = f"{parts.hostname}:{parts.port}"
            for service, local in self.services:
                hosts = [h if ":" in h else f"{h}:{local.container_port}" for h in service.hosts]
                if address in hosts:
                    user = parts.netloc.rpartition("@")[0]
                    netloc = f"{user}@" if user else ""
                    path = f"/{local.database}" if local.database else parts.path
                    netloc += f"{local.host}:{local.port}"
                    return urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment))
            return match[0]

        return URL.sub(replace, text)

    def full_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {**self.locals.base_env, **self.env, **(extra or {})}
        env["PATH"] = ":".join([*self.path, env["PATH"]])
        return {key: self.rewrite(value) for key, value in env.items()}

    def start_service(self, service: Service, image: str) -> LocalService:
        for pattern, port, provider in self.locals.services:
            if fnmatch.fnmatchcase(image, pattern):
                local = self.stack.enter_context(provider(self, service))
                assert local.container_port == port
                self.services.append((service, local))
                return local
        raise PipelineError(f"{self.job.key}: no local service for image {image!r}")

    def register(self, service: Service, local: LocalService) -> None:
        """A service a substituted step started (a container the job ran itself)."""
        self.services.append((service, local))

    def shell(self, label: str, script: str, env: Mapping[str, str], cwd: Path) -> str:
        """Run a script in GitHub's default shell; record it; raise nothing (see `failure`)."""
        path = self.temp / f"step-{len(self.steps)}.sh"
        path.write_text(script)
        start = time.perf_counter()
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            timeout=self.job.timeout,
            check=False,
        )
        seconds = time.perf_counter() - start
        if proc.returncode == 0:
            self.steps.append(StepReport(label, "ran", seconds))
        else:
            self.steps.append(StepReport(label, "failed", seconds))
            self.failure = self.failure or (
                f"{self.job.pipeline} job {self.job.key} ({self.job.name}): step `{label}` "
                f"exited {proc.returncode}\n--- command ---\n{script.strip()}\n"
                f"--- output (tail) ---\n{proc.stdout[-TAIL:]}"
            )
        return proc.stdout


# --------------------------------------------------------------------------- GitHub


def github_lookup(run: JobRun, env: Mapping[str, str]) -> Callable[[str], Value]:
    def lookup(path: str) -> Value:
        context, _, rest = path.partition(".")
        if context == "matrix":
            if rest not in run.job.matrix:
                raise PipelineError(f"matrix.{rest} is not in {dict(run.job.matrix)}")
            return run.job.matrix[rest]
        if context == "env":
            return env.get(rest)
        if context == "secrets":
            return None  # no secret exists on this machine
        if context == "github":
            if rest not in run.locals.github:
                raise PipelineError(f"github.{rest} is not simulated locally")
            return run.locals.github[rest]
        if context == "runner" and rest == "temp":
            return str(run.temp)
        if context in ("steps", "needs"):
            owner, _, field_path = rest.partition(".")
            kind, _, name = field_path.partition(".")
            if kind != "outputs":
                raise PipelineError(f"{path}: only outputs are simulated")
            source = run.outputs if context == "steps" else run.locals.needs
            if owner not in source and context == "needs":
                raise PipelineError(f"{path}: job {owner} has no simulated outputs")
            return source.get(owner, {}).get(name)
        raise PipelineError(f"`{path}` is not available to the local runner")

    return lookup


def github_env(run: JobRun, values: Mapping[str, str], base: Mapping[str, str]) -> dict[str, str]:
    """Expand each value in order; a value that is only an absent token/secret is left unset."""
    env = dict(base)
    for key, raw in values.items():
        value = interpolate(raw, github_lookup(run, env))
        if value == "" and "${{" in raw:
            env.pop(key, None)
            continue
        env[key] = value
    return env


def read_file_commands(path: Path) -> dict[str, str]:
    """`name=value` and `name<<DELIM` blocks, as GitHub reads $GITHUB_OUTPUT and $GITHUB_ENV."""
    out: dict[str, str] = {}
    lines = iter(path.read_text().splitlines()) if path.exists() else iter(())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            out[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
    return out


def run_github(run: JobRun) -> None:
    job, locals_ = run.job, run.locals
    runner = {f"GITHUB_{k.upper()}": v for k, v in locals_.github.items() if v is not None}
    runner.update(GITHUB_WORKSPACE=str(run.workdir), RUNNER_TEMP=str(run.temp))
    run.env = github_env(run, job.env, runner)
    status = {"always": True, "success": True, "failure": False, "cancelled": False}
    if not condition(job.condition, github_lookup(run, run.env), status):
        raise PipelineError(f"{job.key}: `if: {job.condition}` is false in the simulated run")
    for service in job.services:
        run.start_service(service, service.image)
    for index, step in enumerate(job.steps):
        status = {
            "always": True,
            "success": run.failure is None,
            "failure": run.failure is not None,
        }
        status["cancelled"] = False
        if not condition(step.condition, github_lookup(run, run.env), status):
            label = shown(step.label, github_lookup(run, run.env))
            run.steps.append(StepReport(label, f"skipped (if: {step.condition})"))
            continue
        files = {name: run.temp / f"{name}-{index}" for name in ("output", "env", "path")}
        step_env = github_env(run, step.env, run.env)
        step_env.update({f"GITHUB_{k.upper()}": str(p) for k, p in files.items()})
        action_name = (step.uses or "").split("@", 1)[0]
        substitute = substitute_for(run, step.label) or substitute_for(run, action_name)
        start = time.perf_counter()
        if substitute is not None:
            if substitute.action is not None:
                substitute.action(run)
            elif substitute.shell is not None:
                run.shell(step.label, substitute.shell, run.full_env(step_env), run.workdir)
                run.steps[-1].status += f" (substituted: {substitute.reason})"
                continue
            seconds = time.perf_counter() - start
            run.steps.append(StepReport(step.label, f"substituted: {substitute.reason}", seconds))
            continue
        if step.uses is not None:
            name = action_name
            if name not in locals_.actions:
                raise PipelineError(f"{job.key}: no local equivalent for `uses: {step.uses}`")
            lookup = github_lookup(run, run.env)
            inputs = {k: interpolate(str(v), lookup) for k, v in step.with_.items()}
            locals_.actions[name](run, step, inputs)
            seconds = time.perf_counter() - start
            run.steps.append(StepReport(step.label, f"local: {name}", seconds))
        else:
            assert step.run is not None
            script = run.rewrite(interpolate(step.run, github_lookup(run, run.env)))
            cwd = run.workdir / (step.working_directory or ".")
            label = shown(step.label, github_lookup(run, run.env))
            run.shell(label, script, run.full_env(step_env), cwd)
        if step.step_id:
            run.outputs[step.step_id] = read_file_commands(files["output"])
        run.env.update(read_file_commands(files["env"]))
        if files["path"].exists():
            run.path[:0] = reversed(files["path"].read_text().split())


def substitute_for(run: JobRun, label: str) -> Substitute | None:
    """The replacement for a step (by name, or by action for `uses:`), this job's or any job's."""
    table = run.locals.substitutes
    job = run.job
    return table.get((job.pipeline, job.job_id, label)) or table.get((job.pipeline, "*", label))


# --------------------------------------------------------------------------- GitLab


def run_gitlab(run: JobRun) -> None:
    job, locals_ = run.job, run.locals
    predefined = {**locals_.gitlab, "CI_PROJECT_DIR": str(run.workdir), "CI_JOB_NAME": job.key}
    variables = {**predefined, **job.env}
    for _ in range(5):  # variables may name variables
        variables = {k: expand_gitlab(v, variables) for k, v in variables.items()}
    run.env = variables
    if job.definition.get("after_script"):
        raise PipelineError(f"{job.key}: after_script is not reproduced")
    image = expand_gitlab(str(job.definition.get("image", "")), variables)
    for pattern, equivalent in locals_.images:
        if fnmatch.fnmatchcase(image, pattern):
            run.env.update(equivalent(run, image))
            break
    else:
        raise PipelineError(f"{job.key}: no local equivalent for image {image!r}")
    for service in job.services:
        run.start_service(service, expand_gitlab(service.image, variables))
    locals_.checkout(run.workdir, None)
    marks = run.temp / "lines"
    script = ["set -eo pipefail"]
    for index, step in enumerate(job.steps):
        substitute = substitute_for(run, step.label)
        if substitute is not None and substitute.action is not None:
            raise PipelineError(f"{job.key}: a script line can only be replaced by shell")
        line = step.run if substitute is None else (substitute.shell or ":")
        assert line is not None
        script += [f'echo "{index} $(date +%s.%N)" >> {marks}', run.rewrite(line)]
    script.append(f'echo "end $(date +%s.%N)" >> {marks}')
    output = run.shell("script", "\n".join(script) + "\n", run.full_env(), run.workdir)
    run.steps.pop()
    gitlab_line_reports(run, marks, time.time())
    if run.failure is not None:
        last = marks.read_text().split()[-2] if marks.exists() else "0"
        step = job.steps[int(last)] if last.isdigit() else job.steps[-1]
        run.failure = (
            f"{job.pipeline} job {job.key}: script line `{step.label.strip()}` failed\n"
            f"--- output (tail) ---\n{output[-TAIL:]}"
        )


def gitlab_line_reports(run: JobRun, marks: Path, ended: float) -> None:
    """Per-line status and time from the marks; the last line started may have ended the job."""
    stamps = [line.split() for line in marks.read_text().splitlines()] if marks.exists() else []
    if stamps and stamps[-1][0] != "end":
        stamps.append(["end", str(ended)])
    for (index, start), (_, end) in itertools.pairwise(stamps):
        step = run.job.steps[int(index)]
        substitute = substitute_for(run, step.label)
        status = "ran" if substitute is None else f"substituted: {substitute.reason}"
        run.steps.append(StepReport(step.label, status, float(end) - float(start)))
    if run.failure is not None and run.steps:
        run.steps[-1].status = "failed"


@dataclass(frozen=True)
class JobReport:
    key: str
    seconds: float
    steps: list[StepReport]

    def summary(self) -> str:
        parts = [f"{s.label.strip().splitlines()[0][:50]}: {s.status}" for s in self.steps]
        timed = [f"{p} {s.seconds:.1f} s" for p, s in zip(parts, self.steps, strict=True)]
        return f"{self.key} {self.seconds:.1f} s [" + "; ".join(timed) + "]"


def run_job(job: Job, locals_: Locals, workdir: Path, temp: Path) -> JobReport:
    """Run every step; raise `StepFailed` with the job, step, command and output tail."""
    workdir.mkdir(parents=True, exist_ok=True)
    temp.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with ExitStack() as stack:
        run = JobRun(job, locals_, workdir, temp, stack)
        (run_github if job.system == "github" else run_gitlab)(run)
    report = JobReport(job.key, time.perf_counter() - start, run.steps)
    if run.failure is not None:
        raise StepFailed(f"{run.failure}\n--- steps ---\n{report.summary()}")
    return report
