"""A job while it runs on this machine: its env, services, step reports; the local stand-ins."""

from __future__ import annotations

import fnmatch
import re
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.support.pipeline_expr import PipelineError, Value, interpolate
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
    artifacts: Path | None = None  # GitLab artifacts of finished jobs, one folder per job


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


def substitute_for(run: JobRun, label: str) -> Substitute | None:
    """The replacement for a step (by name, or by action for `uses:`), this job's or any job's."""
    table = run.locals.substitutes
    job = run.job
    return table.get((job.pipeline, job.job_id, label)) or table.get((job.pipeline, "*", label))
