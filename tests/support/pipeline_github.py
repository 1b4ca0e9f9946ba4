"""GitHub Actions steps, run locally (see tests/support/pipeline.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

from tests.support.pipeline_expr import PipelineError, Value, condition, interpolate
from tests.support.pipeline_job import JobRun, StepReport, shown, substitute_for


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
            if context == "steps" and owner not in {s.step_id for s in run.job.steps}:
                raise PipelineError(f"{path}: no step has the id {owner}")
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
