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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parent.parent
# Outside the checkout, so fresh clones (CI) reuse tool venvs and the base image.
CACHE = Path(
    os.environ.get("TEMPLATE_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fastapi-service-template"
)
TOOLS = Path(__file__).resolve().parent / "tools"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PYTHON_VERSIONS = ("3.13", "3.12")


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


Render = Callable[..., Path]


@pytest.fixture
def render(tmp_path: Path) -> Render:
    """Render the template with the given answers; the lock step runs only with lock=True."""

    renders = iter(range(1_000))

    def _render(*, lock: bool = False, **answers: Any) -> Path:
        out = tmp_path / f"render-{next(renders)}"
        env_before = os.environ.get("TEMPLATE_SKIP_LOCK")
        os.environ["TEMPLATE_SKIP_LOCK"] = "0" if lock else "1"
        try:
            project = cookiecutter(
                str(TEMPLATE),
                no_input=True,
                extra_context={k: str(v) for k, v in answers.items()},
                output_dir=str(out),
            )
        finally:
            if env_before is None:
                os.environ.pop("TEMPLATE_SKIP_LOCK", None)
            else:
                os.environ["TEMPLATE_SKIP_LOCK"] = env_before
        return Path(project)

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
