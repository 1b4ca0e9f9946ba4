"""Generated projects: rendered as a user would, locked by the hook, installed with make."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from tests.options import DEFAULTS
from tests.support.env import TEMPLATE, project_env, run

Render = Callable[..., Path]


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
