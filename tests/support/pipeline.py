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

import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from tests.support.pipeline_expr import PipelineError
from tests.support.pipeline_github import run_github
from tests.support.pipeline_gitlab import run_gitlab
from tests.support.pipeline_job import (
    JobRun,
    Locals,
    LocalService,
    ServiceProvider,
    StepFailed,
    StepReport,
    Substitute,
)
from tests.support.pipeline_load import Job

__all__ = [
    "JobReport",
    "JobRun",
    "LocalService",
    "Locals",
    "PipelineError",
    "ServiceProvider",
    "StepFailed",
    "Substitute",
    "run_job",
]


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
