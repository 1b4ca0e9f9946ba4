"""Dependencies point inward: the generated `lint-imports` contracts hold in every combination
of the options that change the package's modules, and catch an import that points outward.

`lint-imports` reads the rendered project's own `[tool.importlinter]`, analyses its `src/` (on
PYTHONPATH, ahead of the installed copy) and runs from the shared installed default project, so
its version is the one generated projects lock and no project is installed for these tests.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from tests.options import CHOICES, combo_id
from tests.support.project import Installed, Render

# messaging and cache are the options that add or remove modules under src/.
MODULE_OPTIONS = [
    {"messaging": messaging, "cache": cache}
    for messaging in CHOICES["messaging"]
    for cache in CHOICES["cache"]
]
PACKAGE = "orders_service"  # the default answers' package
DOMAIN_CONTRACT = "The domain and its use cases never import an adapter"


@pytest.fixture(scope="module")
def lint_imports(
    installed_project: Callable[[Mapping[str, object]], Installed],
) -> Callable[[Path], subprocess.CompletedProcess[str]]:
    """`lint-imports` of the shared installed project, run on a rendered project's sources."""
    root, env = installed_project({})
    binary = root / ".venv" / "bin" / "lint-imports"

    def run(project: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(binary), "--no-cache"],
            cwd=project,
            env={**env, "PYTHONPATH": str(project / "src")},
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    return run


@pytest.mark.parametrize("answers", MODULE_OPTIONS, ids=[combo_id(a) for a in MODULE_OPTIONS])
def test_every_contract_is_kept(
    render: Render,
    lint_imports: Callable[[Path], subprocess.CompletedProcess[str]],
    answers: dict[str, str],
) -> None:
    result = lint_imports(render(**answers))
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken" in result.stdout, result.stdout


def test_a_use_case_importing_an_adapter_breaks_the_domain_contract(
    render: Render, lint_imports: Callable[[Path], subprocess.CompletedProcess[str]]
) -> None:
    """The inverted import a hurried fix would add: the item use cases reach for the engine."""
    project = render()
    service = project / "src" / PACKAGE / "items" / "service.py"
    source = service.read_text()
    anchor = f"from {PACKAGE}.cache import Cache\n"
    assert anchor in source
    service.write_text(source.replace(anchor, f"from {PACKAGE}.db import engine\n" + anchor))

    result = lint_imports(project)
    assert result.returncode != 0, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert DOMAIN_CONTRACT in broken, result.stdout
    assert f"{PACKAGE}.items.service -> {PACKAGE}.db.engine" in broken, result.stdout
