"""Prune the files of disabled options, record the answers, lock dependencies, say what's next."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ANSWERS: dict[str, object] = json.loads(r"""{{ cookiecutter | jsonify }}""")
SLUG = str(ANSWERS["project_slug"])
PACKAGE = str(ANSWERS["package_name"])

# The one manifest of option-specific files: option -> value -> paths that exist only for it.
# A path listed for several values of one option is kept when any of them is chosen.
ONLY_FOR: dict[str, dict[str, list[str]]] = {
    "messaging": {
        "rabbitmq": [],
        "kafka": [],
        "nats": [],
        "none": [],
    },
    "cache": {
        "redis": [f"src/{PACKAGE}/infrastructure/redis_cache.py", "tests/test_redis_cache.py"],
        "none": [],
    },
    "ci": {
        "github": [".github", "release-please-config.json", ".release-please-manifest.json"],
        "gitlab": [".gitlab-ci.yml", ".gitlab"],
        "both": [
            ".github",
            "release-please-config.json",
            ".release-please-manifest.json",
            ".gitlab-ci.yml",
            ".gitlab",
        ],
    },
    "rollout": {
        "rolling": [f"deploy/helm/{SLUG}/templates/deployment.yaml"],
        "canary": [
            f"deploy/helm/{SLUG}/templates/rollout.yaml",
            f"deploy/helm/{SLUG}/templates/analysistemplate.yaml",
        ],
    },
}
# Paths that exist for any value except "none".
UNLESS_NONE: dict[str, list[str]] = {
    "messaging": [
        f"src/{PACKAGE}/events",
        f"src/{PACKAGE}/worker.py",
        "migrations/versions/20260102_0002_create_outbox.py",
        f"deploy/helm/{SLUG}/templates/worker-deployment.yaml",
        "tests/test_events.py",
        "tests/test_outbox.py",
        "tests/test_outbox_metrics.py",
        "tests/test_worker.py",
        f"deploy/helm/{SLUG}/templates/worker-podmonitor.yaml",
        "deploy/observability/tests/outbox.yaml",
        "docs/runbooks/outbox-dead-events.md",
        "docs/runbooks/outbox-backlog-stale.md",
    ],
}


def paths_to_remove(answers: dict[str, object]) -> set[str]:
    """Paths whose option value was not chosen, minus paths another chosen value keeps."""
    remove: set[str] = set()
    for option, by_value in ONLY_FOR.items():
        chosen = answers[option]
        keep = set(by_value.get(str(chosen), []))
        for value, paths in by_value.items():
            if value != chosen:
                remove.update(p for p in paths if p not in keep)
    for option, paths in UNLESS_NONE.items():
        if answers[option] == "none":
            remove.update(paths)
    return remove


def prune(root: Path, answers: dict[str, object]) -> None:
    declared = {p for by_value in ONLY_FOR.values() for ps in by_value.values() for p in ps}
    declared.update(p for ps in UNLESS_NONE.values() for p in ps)
    missing = sorted(p for p in declared if not (root / p).exists())
    if missing:
        # The manifest and the template disagree: fail loudly rather than ship a stray file.
        sys.exit(f"error: manifest lists paths the template does not have: {missing}")
    for rel in sorted(paths_to_remove(answers)):
        target = root / rel
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()


def template_commit(repo_dir: str) -> str | None:
    git = shutil.which("git")
    if not git or not (Path(repo_dir) / ".git").exists():
        return None
    proc = subprocess.run(
        [git, "-C", repo_dir, "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def write_cruft(root: Path, answers: dict[str, object]) -> None:
    """Record answers like `cruft create` does, so `cruft update` can follow the template."""
    context = {k: v for k, v in answers.items() if not k.startswith("_") or k == "_template"}
    template = str(answers.get("_template", ""))
    commit = template_commit(str(answers.get("_repo_dir", template)))
    cruft = {
        "template": template,
        "commit": commit,
        "checkout": None,
        "context": {"cookiecutter": context},
        "directory": None,
        "skip": [".git", "uv.lock"],
    }
    (root / ".cruft.json").write_text(json.dumps(cruft, indent=2, sort_keys=True) + "\n")


def lock(root: Path) -> str:
    if os.environ.get("TEMPLATE_SKIP_LOCK") == "1":
        return "Lock step skipped (TEMPLATE_SKIP_LOCK=1): run `uv lock` before `make test`."
    uv = shutil.which("uv")
    if uv is None:
        return "uv is not installed: `pip install uv`, then run `uv lock` in the project."
    proc = subprocess.run(
        [uv, "lock", "--quiet"], cwd=root, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        return f"`uv lock` failed; run it yourself in the project:\n{proc.stderr.strip()}"
    return "Wrote uv.lock."


def main() -> None:
    root = Path.cwd()
    prune(root, ANSWERS)
    write_cruft(root, ANSWERS)
    locked = lock(root)
    print(
        f"\n{ANSWERS['project_name']} is ready in ./{SLUG}\n{locked}\n\n"
        f"Next steps:\n  cd {SLUG}\n  make run    # serves http://127.0.0.1:8000/docs on SQLite\n"
        "  make test   # lint, type-check and test\n"
    )


if __name__ == "__main__":
    main()
