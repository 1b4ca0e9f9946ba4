"""Fixtures of the template suite; what they use lives in ``tests/support``.

Under ``CI=true`` a missing tool or unreachable service fails the run; locally it skips.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.support.env import tool_venv
from tests.support.oidc import OpenIDProvider, openid_provider
from tests.support.project import (
    INSTALL_LOG,
    Installed,
    Render,
    generate,
    shared_base,
    shared_installed,
)
from tests.support.timing import Figure, reference_seconds


@pytest.fixture
def render(tmp_path: Path) -> Render:
    """Render the template with the given answers (no lock step), each into its own folder."""
    renders = iter(range(1_000))

    def _render(**answers: Any) -> Path:
        return generate(answers, tmp_path / f"render-{next(renders)}")

    return _render


@pytest.fixture(scope="session")
def tool() -> Callable[[str], Path]:
    """Cached virtualenv per tool group (``tests/tools/<group>.txt``); returns its bin dir."""
    return tool_venv


@pytest.fixture(scope="session")
def installed_project(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[Mapping[str, object]], Installed]:
    """A locked, installed project per answers, one for the run (shared by xdist workers and
    by the timing group after them).

    Only for tests that run the project (make targets, the served app) without changing its
    files.
    """
    base = shared_base(tmp_path_factory.getbasetemp())
    return lambda answers: shared_installed(answers, base / "installed")


@pytest.fixture(scope="module")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenIDProvider]:
    """A real OpenID Provider shared by a module's tests that only ask it for tokens."""
    with openid_provider(tmp_path_factory.mktemp("oidc")) as provider:
        yield provider


@pytest.fixture
def own_oidc_provider(tmp_path: Path) -> Iterator[OpenIDProvider]:
    """A provider of the test's own, to rotate or stop without touching other tests."""
    with openid_provider(tmp_path) as provider:
        yield provider


@pytest.fixture(scope="session")
def reference() -> float:
    """This machine's speed unit for this run, for timed assertions (tests/support/timing.py)."""
    return reference_seconds()


@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Figure:
    """Record a measured figure; the run prints them all at the end (xdist-safe)."""

    def _figure(text: str) -> None:
        request.node.user_properties.append(("figure", text))

    return _figure


def pytest_configure(config: pytest.Config) -> None:
    """Count `make install`s of generated projects across the run (its workers append)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        handle, path = tempfile.mkstemp(prefix="template-installs-")
        os.close(handle)
        os.environ[INSTALL_LOG] = path


def pytest_unconfigure(config: pytest.Config) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        Path(os.environ.pop(INSTALL_LOG, "/nonexistent")).unlink(missing_ok=True)


def install_figures() -> list[str]:
    log = Path(os.environ.get(INSTALL_LOG, "/nonexistent"))
    counts = Counter(log.read_text().splitlines() if log.is_file() else [])
    return [f"make install: {count} x {answers}" for answers, count in sorted(counts.items())]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print every recorded figure, so CI logs carry the measurements."""
    lines = install_figures() + [
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
