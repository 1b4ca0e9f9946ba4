"""GitLab CI jobs, run locally: before_script and script lines in one shell."""

from __future__ import annotations

import fnmatch
import itertools
import shutil
import time
from pathlib import Path

from tests.support.pipeline_expr import PipelineError, expand_gitlab
from tests.support.pipeline_job import TAIL, JobRun, StepReport, substitute_for
from tests.support.pipeline_load import Job


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
    for need in needs(job):  # artifacts of the jobs it needs are in its directory first
        if locals_.artifacts is not None and (locals_.artifacts / need).is_dir():
            shutil.copytree(locals_.artifacts / need, run.workdir, dirs_exist_ok=True)
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
    if run.failure is None and locals_.artifacts is not None:
        keep_artifacts(run, locals_.artifacts / job.job_id)
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


def needs(job: Job) -> list[str]:
    """The job ids of `needs:` (names or `{job: name}` entries)."""
    return [n if isinstance(n, str) else str(n["job"]) for n in job.definition.get("needs", [])]


def artifact_paths(job: Job) -> list[str]:
    return [str(p) for p in (job.definition.get("artifacts") or {}).get("paths", [])]


def keep_artifacts(run: JobRun, store: Path) -> None:
    """`artifacts: paths:` of a finished job, kept for the jobs that need it."""
    for pattern in artifact_paths(run.job):
        for found in run.workdir.glob(pattern):
            target = store / found.relative_to(run.workdir)
            target.parent.mkdir(parents=True, exist_ok=True)
            if found.is_dir():
                shutil.copytree(found, target, dirs_exist_ok=True)
            else:
                shutil.copy2(found, target)
