"""Shared fixtures: render the template, provide tool virtualenvs, and gate on services.

Under ``CI=true`` a missing tool or unreachable service fails the run; locally it skips.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from cookiecutter.main import cookiecutter

from tests.options import DEFAULTS
from tests.support.timing import reference_seconds

TEMPLATE = Path(__file__).resolve().parent.parent
# Outside the checkout, so fresh clones (CI) reuse tool venvs and the base image.
CACHE = Path(
    os.environ.get("TEMPLATE_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fastapi-service-template"
)
TOOLS = Path(__file__).resolve().parent / "tools"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: object, why: str) -> None:
    """Skip when a prerequisite is missing, except under CI where that is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true and a prerequisite is missing: {why}", pytrace=False)
    pytest.skip(why)


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def find_python(version: str) -> str | None:
    """Locate an interpreter uv can use; pyenv shims confuse uv, so prefer real paths."""
    candidates = [
        *sorted(Path.home().glob(f".pyenv/versions/{version}*/bin/python{version}")),
        *(Path(p) / f"python{version}" for p in os.environ.get("PATH", "").split(os.pathsep)),
    ]
    for candidate in candidates:
        if candidate.is_file() and ".pyenv/shims" not in str(candidate):
            return str(candidate)
    return None


def uv_bin() -> str:
    """The uv installed beside this interpreter (a pyenv shim on PATH may hide it)."""
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.exists() else shutil.which("uv")
    require(found, "uv is not installed")
    assert found is not None
    return found


def run(
    cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run a command and fail with its output when it does not exit 0."""
    merged = {**os.environ, **(env or {})}
    proc = subprocess.run(
        cmd, cwd=cwd, env=merged, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        pytest.fail(
            f"`{' '.join(cmd)}` exited {proc.returncode} in {cwd}\n"
            f"--- stdout ---\n{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-6000:]}",
            pytrace=False,
        )
    return proc


def project_env(version: str) -> dict[str, str]:
    """Environment for a generated project: uv and the wanted Python first, no outer venv."""
    python = find_python(version)
    require(python, f"Python {version} is not installed")
    assert python is not None
    uv = uv_bin()
    path = os.pathsep.join([str(Path(uv).parent), str(Path(python).parent), os.environ["PATH"]])
    return {"PATH": path, "UV": uv, "UV_PYTHON": python, "VIRTUAL_ENV": ""}


def generate(
    answers: Mapping[str, object], output_dir: Path, *, lock_with: Mapping[str, str] | None = None
) -> Path:
    """Render the template as a user would.

    With `lock_with` (an environment whose PATH holds uv) the post-gen hook runs its `uv lock`
    step; without it the step is skipped, which keeps the many shallow renders fast.
    """
    env = (
        {"TEMPLATE_SKIP_LOCK": "1"}
        if lock_with is None
        else {**lock_with, "TEMPLATE_SKIP_LOCK": "0"}
    )
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        root = Path(
            cookiecutter(
                str(TEMPLATE),
                no_input=True,
                extra_context={key: str(value) for key, value in answers.items()},
                output_dir=str(output_dir),
            )
        )
    if lock_with is not None:
        assert (root / "uv.lock").is_file(), "the post-gen hook did not write uv.lock"
    return root


def installed(answers: Mapping[str, object], output_dir: Path) -> tuple[Path, dict[str, str]]:
    """A generated project, locked by its hook and installed with `make install`; its env."""
    env = project_env(str({**DEFAULTS, **answers}["python_version"]))
    root = generate(answers, output_dir, lock_with=env)
    run(["make", "install"], cwd=root, env=env, timeout=600)
    return root, env


Render = Callable[..., Path]


@pytest.fixture
def render(tmp_path: Path) -> Render:
    """Render the template with the given answers (no lock step), each into its own folder."""
    renders = iter(range(1_000))

    def _render(**answers: Any) -> Path:
        return generate(answers, tmp_path / f"render-{next(renders)}")

    return _render


@pytest.fixture(scope="session")
def tool() -> Callable[[str], Path]:
    """Cached virtualenv per tool group (``tests/tools/<group>.txt``); returns its bin dir.

    Groups are separate because some tools pin conflicting dependencies (checkov, cyclonedx).
    """

    def _tool(group: str) -> Path:
        spec = TOOLS / f"{group}.txt"
        digest = hashlib.sha256(spec.read_bytes()).hexdigest()[:12]
        venv = CACHE / "tools" / f"{group}-{digest}"
        marker = venv / ".complete"
        if marker.exists() and (venv / "bin" / "python").exists():
            return venv / "bin"
        uv = uv_bin()
        python = find_python("3.13") or find_python("3.12") or sys.executable
        lock = CACHE / "tools" / f".{group}.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        with lock.open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # xdist workers may need the same group at once
            if not (marker.exists() and (venv / "bin" / "python").exists()):
                shutil.rmtree(venv, ignore_errors=True)
                run([uv, "venv", "--quiet", "--python", python, str(venv)], cwd=TEMPLATE)
                install = [uv, "pip", "install", "--quiet", "--python", str(venv / "bin/python")]
                run([*install, "-r", str(spec)], cwd=TEMPLATE)
                marker.write_text(json.dumps({"spec": spec.name, "digest": digest}))
        return venv / "bin"

    return _tool


@pytest.fixture(scope="session")
def reference() -> float:
    """This machine's speed unit for this run, for timed assertions (tests/support/timing.py)."""
    return reference_seconds()


Figure = Callable[[str], None]


@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Figure:
    """Record a measured figure; the run prints them all at the end (xdist-safe)."""

    def _figure(text: str) -> None:
        request.node.user_properties.append(("figure", text))

    return _figure


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print every recorded figure, so CI logs carry the measurements."""
    lines = [
        f"{report.nodeid.split('::')[-1]}: {value}"
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) in {"call", "setup"}
        for name, value in getattr(report, "user_properties", ())
        if name == "figure"
    ]
    if lines:
        terminalreporter.section("measured figures")
        for line in lines:
            terminalreporter.write_line(line)
