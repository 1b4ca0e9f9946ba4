"""Render every option value and the interacting pairs; check what each render contains."""

from __future__ import annotations

import json
import re
import sys
from fnmatch import fnmatch
from pathlib import Path

import pytest

from tests.conftest import TEMPLATE, Render, run
from tests.options import CHOICES, DEFAULTS, PAIRS, SINGLE, combo_id

RENDERS = [{}, *SINGLE, *PAIRS]
# Files copied verbatim on purpose (Go templates, GitHub expressions): see cookiecutter.json.
VERBATIM = json.loads((TEMPLATE / "cookiecutter.json").read_text())["_copy_without_render"]
UNRENDERED = re.compile(r"\{\{\s*cookiecutter|\{%|\{#|cookiecutter\.")


def load_manifest(answers: dict[str, str]) -> tuple[dict[str, dict[str, list[str]]], set[str]]:
    """The post-gen hook's manifest and what it removes, evaluated like the hook does."""
    source = (TEMPLATE / "hooks" / "post_gen_project.py").read_text()
    context = {**DEFAULTS, **answers, "project_slug": "orders-service"}
    context["package_name"] = "orders_service"
    namespace: dict[str, object] = {"__name__": "manifest"}
    exec(  # noqa: S102 - evaluating our own hook with a known context
        source.replace('r"""{{ cookiecutter | jsonify }}"""', repr(json.dumps(context))),
        namespace,
    )
    manifest = namespace["ONLY_FOR"]
    remove = namespace["paths_to_remove"](context)  # type: ignore[operator]
    return manifest, remove  # type: ignore[return-value]


def is_verbatim(rel: Path) -> bool:
    return any(fnmatch(str(rel), pattern) for pattern in VERBATIM)


@pytest.mark.parametrize("answers", RENDERS, ids=[combo_id(a) for a in RENDERS])
def test_render(render: Render, answers: dict[str, str]) -> None:
    project = render(**answers)
    chosen = {**DEFAULTS, **answers}
    files = [p for p in project.rglob("*") if p.is_file()]
    assert files, "the render produced no files"

    leftovers = [
        str(p.relative_to(project))
        for p in files
        if not is_verbatim(p.relative_to(project)) and UNRENDERED.search(p.read_text())
    ]
    assert not leftovers, f"unrendered Jinja in {leftovers}"

    _, removed = load_manifest(answers)
    still_there = sorted(rel for rel in removed if (project / rel).exists())
    assert not still_there, f"files of disabled options left behind: {still_there}"

    cruft = json.loads((project / ".cruft.json").read_text())
    for key, value in chosen.items():
        assert cruft["context"]["cookiecutter"][key] == value
    assert cruft["template"]

    assert (project / ".python-version").read_text().strip() == chosen["python_version"]
    pyproject = (project / "pyproject.toml").read_text()
    assert f'requires-python = ">={chosen["python_version"]}"' in pyproject
    has_events = (project / "src/orders_service/events").exists()
    assert has_events == (chosen["messaging"] != "none")
    assert ("faststream" in pyproject) == has_events
    assert ("redis>=" in pyproject) == (chosen["cache"] == "redis")
    assert (project / ".github").exists() == (chosen["ci"] in {"github", "both"})
    assert (project / ".gitlab-ci.yml").exists() == (chosen["ci"] in {"gitlab", "both"})

    # Generated Python must be clean for every combination, not only the deep ones.
    ruff = [sys.executable, "-m", "ruff"]
    run([*ruff, "format", "--check", "--quiet", "."], cwd=project)
    run([*ruff, "check", "--quiet", "."], cwd=project)


def test_every_manifest_path_exists_when_its_option_is_on(render: Render) -> None:
    """A manifest entry that names no real file would silently prune nothing."""
    manifest, _ = load_manifest({})
    for option, by_value in manifest.items():
        for value, paths in by_value.items():
            if not paths:
                continue
            project = render(**{option: value})
            missing = [p for p in paths if not (project / p).exists()]
            assert not missing, f"{option}={value}: manifest names missing {missing}"


def test_every_choice_is_rendered_somewhere() -> None:
    """No option may exist that the suite never renders."""
    rendered = {(k, v) for answers in RENDERS for k, v in {**DEFAULTS, **answers}.items()}
    every = {(k, v) for k, values in CHOICES.items() for v in values}
    assert every <= rendered, f"never rendered: {sorted(every - rendered)}"
