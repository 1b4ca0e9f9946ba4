"""Generated projects: rendered as a user would, locked by the hook, installed with make."""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from tests.options import DEFAULTS
from tests.support.env import TEMPLATE, project_env, run
from tests.support.server import Server, serve

Render = Callable[..., Path]
Installed = tuple[Path, dict[str, str]]
# Set by conftest for the whole run (xdist workers inherit it): one line per `make install`.
INSTALL_LOG = "TEMPLATE_TEST_INSTALL_LOG"
# Set by the Makefile's test target for both of its pytest runs (see `shared_base`).
SHARED_INSTALLS = "TEMPLATE_TEST_SHARED_INSTALLS"


@cache
def own_config() -> str:
    """A cookiecutter config of the suite's own: the caller's ~/.cookiecutterrc (or
    COOKIECUTTER_CONFIG) would change the answers, and replays go here, not into their home."""
    home = Path(tempfile.mkdtemp(prefix="template-cookiecutter-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    config = home / "config.json"  # JSON is YAML: cookiecutter reads it as its YAML config
    config.write_text(
        json.dumps(
            {
                "default_context": {},
                "cookiecutters_dir": str(home / "cookiecutters"),
                "replay_dir": str(home / "replay"),
            }
        )
    )
    return str(config)


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
                config_file=own_config(),
            )
        )
    if lock_with is not None:
        assert (root / "uv.lock").is_file(), "the post-gen hook did not write uv.lock"
    return root


def installed(answers: Mapping[str, object], output_dir: Path) -> tuple[Path, dict[str, str]]:
    """A generated project, locked by its hook and installed with `make install`; its env."""
    env = project_env(str({**DEFAULTS, **answers}["python_version"]))
    root = generate(answers, output_dir, lock_with=env)
    make_install(root, env, answers)
    return root, env


def make_install(root: Path, env: Mapping[str, str], answers: Mapping[str, object]) -> None:
    """`make install` in a generated project, counted in the run's install log."""
    run(["make", "install"], cwd=root, env=dict(env), timeout=600)
    record_install(answers)


def record_install(answers: Mapping[str, object]) -> None:
    """One line in the run's install log (conftest prints the counts at the end)."""
    if log := os.environ.get(INSTALL_LOG):
        with Path(log).open("a") as out:
            out.write(json.dumps(dict(answers), sort_keys=True) + "\n")


def shared_installed(answers: Mapping[str, object], base: Path) -> Installed:
    """One installed project per answers for the whole run, whichever xdist worker asks first.

    For tests that only run the project (serve it, fuzz it, time it), never change its files:
    a lock step and `make install` take about a minute each time.
    """
    key = hashlib.sha256(json.dumps(dict(answers), sort_keys=True).encode()).hexdigest()[:12]
    home = base / f"installed-{key}"
    base.mkdir(parents=True, exist_ok=True)
    with (base / f".installed-{key}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # the other workers wait for the first install
        done = home / ".installed"
        if done.is_file():
            env = project_env(str({**DEFAULTS, **answers}["python_version"]))
            return Path(done.read_text()), env
        shutil.rmtree(home, ignore_errors=True)  # what a failed first attempt left
        root, env = installed(answers, home / "out")
        done.write_text(str(root))
    return root, env


def shared_base(basetemp: Path) -> Path:
    """Where the run keeps its shared installs.

    `make test` runs pytest twice (the parallel suite, then the timing group alone) and names
    one folder for both in SHARED_INSTALLS, so the timing group reuses the parallel run's
    installs; otherwise the run's own folder, above each xdist worker's.
    """
    if shared := os.environ.get(SHARED_INSTALLS):
        return Path(shared)
    return basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp


@dataclass(frozen=True)
class InstalledProject:
    """A generated, locked and installed project: make targets, alembic and the served app."""

    root: Path
    env: dict[str, str]
    answers: dict[str, str] = field(default_factory=dict)
    setup_note: str = ""

    def make(
        self, *args: str, check: bool = True, **extra_env: str
    ) -> subprocess.CompletedProcess[str]:
        """`make <args>`; with check=False the result is returned whatever its exit code."""
        env = {**self.env, **extra_env}
        if check:
            return run(["make", *args], cwd=self.root, env=env, timeout=900)
        return subprocess.run(
            ["make", *args],
            cwd=self.root,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )

    def timed_make(self, *args: str, **extra_env: str) -> float:
        """`make <args>`; its wall time in seconds."""
        start = time.perf_counter()
        run(["make", *args], cwd=self.root, env={**self.env, **extra_env}, timeout=900)
        return time.perf_counter() - start

    def alembic(self, *args: str, database_url: str) -> None:
        env = {**self.env, "DATABASE_URL": database_url}
        run([self.env["UV"], "run", "--frozen", "alembic", *args], cwd=self.root, env=env)

    def serve(self, env: Mapping[str, str], log_dir: Path) -> AbstractContextManager[Server]:
        """The app as `make run` starts it (migrated first), on a free port; always stopped."""
        return serve(self.root, env, log_dir)
