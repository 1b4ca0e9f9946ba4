"""The generated project's own tooling: it bootstraps uv, and `cruft update` follows the template.

The tests that install a generated project are `deep` like the quality gates.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support.env import TEMPLATE, find_python, project_env, require, run
from tests.support.project import generate, record_install


def bare_path(python: str) -> str:
    """A PATH with the wanted Python, make and coreutils, and no uv anywhere on it."""
    path = os.pathsep.join([str(Path(python).parent), "/usr/bin", "/bin"])
    require(shutil.which("make", path=path), "make is not installed")
    assert shutil.which("uv", path=path) is None, f"uv is on the bare PATH {path}"
    return path


@pytest.mark.deep
def test_make_install_bootstraps_uv_with_only_python_and_make(tmp_path: Path) -> None:
    """`make check` right after generating must not fail on `uv: No such file or directory`,
    nor on a missing uv.lock when the post-gen hook found no uv to lock with."""
    # Generated where uv is missing too: the post-gen hook could not lock.
    root = generate({}, tmp_path)
    assert not (root / "uv.lock").exists()
    python = find_python("3.13")
    assert python is not None
    # The machine's network and cache settings stay; any uv or virtualenv of the caller goes.
    clean = {k: v for k, v in os.environ.items() if k not in {"UV", "VIRTUAL_ENV", "PATH"}}
    proc = subprocess.run(
        ["make", "install"],
        cwd=root,
        env={**clean, "PATH": bare_path(python), "UV_PYTHON": python},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    record_install({})
    assert (root / ".tools/bin/uv").is_file()
    assert (root / "uv.lock").is_file()
    assert (root / ".venv/bin/python").is_file()
    assert ".tools/" in (root / ".gitignore").read_text().splitlines()


GIT = ["git", "-c", "user.name=Template Test", "-c", "user.email=test@example.com"]
# Not template output: the lock is re-made by `uv lock`, .cruft.json is cruft's own record.
NOT_COMPARED = {".git", ".venv", "uv.lock", ".cruft.json", ".tools"}


def template_repo(root: Path) -> tuple[str, str]:
    """A git repository of this template with two commits: an older variant, then the tree
    as it is now. Returns both commits; HEAD is left on the newer one."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=TEMPLATE,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        source = TEMPLATE / rel
        if source.is_file():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / rel)
    main = root / SLUG_DIR / "src/{{cookiecutter.package_name}}/__main__.py"
    current = main.read_text()
    note = root / SLUG_DIR / "docs/retired-note.md"
    run([*GIT, "init", "-q", "-b", "main"], cwd=root)
    main.write_text(current.replace(OLD_MARKER[1], OLD_MARKER[0], 1))
    note.write_text("A file the newer template no longer ships.\n")
    run([*GIT, "add", "-A"], cwd=root)
    run([*GIT, "commit", "-q", "-m", "older"], cwd=root)
    older = run(["git", "rev-parse", "HEAD"], cwd=root).stdout.strip()
    main.write_text(current)
    note.unlink()
    run([*GIT, "commit", "-q", "-am", "newer"], cwd=root)
    newer = run(["git", "rev-parse", "HEAD"], cwd=root).stdout.strip()
    return older, newer


SLUG_DIR = "{{cookiecutter.project_slug}}"
OLD_MARKER = ("serve the app with uvicorn (older)", "serve the app with uvicorn")


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not NOT_COMPARED & set(p.relative_to(root).parts)
    }


@pytest.mark.deep
def test_cruft_update_brings_a_template_change_into_a_made_project(tmp_path: Path) -> None:
    """`cookiecutter .` at an older commit, then `cruft update`: the project becomes what the
    newer template renders, `cruft check` agrees, and `make check` passes."""
    env = project_env("3.13")
    template = tmp_path / "template"
    template.mkdir()
    older, newer = template_repo(template)
    run(["git", "checkout", "-q", older], cwd=template)
    cookiecutter = [str(Path(sys.executable).with_name("cookiecutter")), "--no-input"]
    made = tmp_path / "made"
    run([*cookiecutter, "--output-dir", str(made), "."], cwd=template, env=env)
    project = made / "orders-service"
    state = json.loads((project / ".cruft.json").read_text())
    assert state["template"] == str(template.resolve())
    assert state["commit"] == older
    assert OLD_MARKER[0] in (project / "src/orders_service/__main__.py").read_text()

    run(["git", "checkout", "-q", "main"], cwd=template)
    run([*GIT, "init", "-q"], cwd=project)
    run([*GIT, "add", "-A"], cwd=project)
    run([*GIT, "commit", "-q", "-m", "generated"], cwd=project)
    cruft = str(Path(sys.executable).with_name("cruft"))
    stale = subprocess.run(
        [cruft, "check"], cwd=project, env={**os.environ, **env}, capture_output=True, check=False
    )
    assert stale.returncode == 1, f"a project one commit behind passed `cruft check`: {stale}"
    run([cruft, "update", "--skip-apply-ask", "--allow-untracked-files"], cwd=project, env=env)

    assert json.loads((project / ".cruft.json").read_text())["commit"] == newer
    fresh = tmp_path / "fresh"
    run(
        [*cookiecutter, "--output-dir", str(fresh), "."],
        cwd=template,
        env={"TEMPLATE_SKIP_LOCK": "1"},
    )
    assert tree(project) == tree(fresh / "orders-service")
    run([cruft, "check"], cwd=project, env=env, timeout=120)
    run(["make", "check"], cwd=project, env=env, timeout=1200)


def test_cruft_create_keeps_the_skip_list_and_its_own_record(tmp_path: Path) -> None:
    """cruft writes .cruft.json after the hooks; what cruft update skips must survive that."""
    template = tmp_path / "template"
    template.mkdir()
    _, newer = template_repo(template)
    cruft = str(Path(sys.executable).with_name("cruft"))
    out = tmp_path / "out"
    run(
        [cruft, "create", "--no-input", "--output-dir", str(out), str(template)],
        cwd=tmp_path,
        env={"TEMPLATE_SKIP_LOCK": "1"},
    )
    project = out / "orders-service"
    state = json.loads((project / ".cruft.json").read_text())
    assert state["template"] == str(template)
    assert state["commit"] == newer
    assert state["context"]["cookiecutter"]["project_slug"] == "orders-service"
    skip = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["cruft"]["skip"]
    assert {"uv.lock", ".cruft.json"} <= set(skip)
    run([*GIT, "init", "-q"], cwd=project)
    run([*GIT, "add", "-A"], cwd=project)
    run([*GIT, "commit", "-q", "-m", "created"], cwd=project)
    run([cruft, "check"], cwd=project)


def test_a_template_from_a_git_url_records_a_url_cruft_can_clone(tmp_path: Path) -> None:
    """cookiecutter's `git+` prefix means nothing to git; cruft must get a clonable URL."""
    template = tmp_path / "template"
    template.mkdir()
    _, newer = template_repo(template)
    config = tmp_path / "cookiecutter.yaml"
    config.write_text(f"cookiecutters_dir: {tmp_path / 'clones'}/\nreplay_dir: {tmp_path}/\n")
    cookiecutter = [str(Path(sys.executable).with_name("cookiecutter")), "--no-input"]
    out = tmp_path / "out"
    url = f"file://{template}"
    run(
        [*cookiecutter, "--config-file", str(config), "-o", str(out), f"git+{url}"],
        cwd=tmp_path,
        env={"TEMPLATE_SKIP_LOCK": "1"},
    )
    project = out / "orders-service"
    state = json.loads((project / ".cruft.json").read_text())
    assert (state["template"], state["commit"]) == (url, newer)
    run([*GIT, "init", "-q"], cwd=project)
    run([*GIT, "add", "-A"], cwd=project)
    run([*GIT, "commit", "-q", "-m", "generated"], cwd=project)
    run([str(Path(sys.executable).with_name("cruft")), "check"], cwd=project)
