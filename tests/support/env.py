"""The machine the template tests run on: paths, prerequisites, interpreters, commands, ports.

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
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[2]
# Outside the checkout, so fresh clones (CI) reuse tool venvs and the base image.
CACHE = Path(
    os.environ.get("TEMPLATE_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fastapi-service-template"
)
TOOLS = TEMPLATE / "tests" / "tools"
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


def free_port() -> int:
    """A loopback port nobody listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def tool_venv(group: str) -> Path:
    """Cached virtualenv per tool group (``tests/tools/<group>.txt``); returns its bin dir.

    Groups are separate because some tools pin conflicting dependencies (checkov, cyclonedx).
    """
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
