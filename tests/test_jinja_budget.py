"""Jinja block tags in the generated Python stay few, so option code lives in files of its own.

An option value's code belongs in a module the post-gen hook's manifest keeps or deletes, not
in `{% if %}` branches that make a file unreadable, unlintable and untestable as Python.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.env import TEMPLATE
from tests.support.timing import Figure

PROJECT = TEMPLATE / "{{cookiecutter.project_slug}}"
SOURCE = PROJECT / "src"
MAX_TOTAL = 26  # lines holding `{%` in all the generated project's .py files (143 at first)
MAX_PER_SOURCE_FILE = 3  # ... in any one file of the service's package


def block_tag_lines() -> dict[Path, int]:
    """Lines holding a Jinja block tag, per `.py` file that has any."""
    counts = {
        path: sum("{%" in line for line in path.read_text().splitlines())
        for path in sorted(PROJECT.rglob("*.py"))
    }
    return {path: count for path, count in counts.items() if count}


def test_jinja_block_tags_stay_within_budget(figure: Figure) -> None:
    counts = block_tag_lines()
    for path, count in sorted(counts.items(), key=lambda item: -item[1]):
        figure(f"{count} Jinja block-tag lines in {path.relative_to(PROJECT)}")
    total = sum(counts.values())
    figure(f"{total} Jinja block-tag lines in the generated .py files (budget {MAX_TOTAL})")
    over = {
        str(path.relative_to(PROJECT)): count
        for path, count in counts.items()
        if path.is_relative_to(SOURCE) and count > MAX_PER_SOURCE_FILE
    }
    assert not over, f"more than {MAX_PER_SOURCE_FILE} block-tag lines under src/: {over}"
    assert total <= MAX_TOTAL, f"{total} block-tag lines in generated .py files: {counts}"
