"""Prune the files of disabled options, record the answers, lock dependencies, say what's next."""

from __future__ import annotations

import json
import os
import re
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
        "rabbitmq": [f"src/{PACKAGE}/events/brokers/rabbitmq.py", "tests/brokers/rabbitmq.py"],
        "kafka": [f"src/{PACKAGE}/events/brokers/kafka.py", "tests/brokers/kafka.py"],
        "nats": [f"src/{PACKAGE}/events/brokers/nats.py", "tests/brokers/nats.py"],
        "none": [f"src/{PACKAGE}/items/events_none.py", f"src/{PACKAGE}/db/write_unit_none.py"],
    },
    "cache": {
        "redis": [
            f"src/{PACKAGE}/infrastructure/redis_cache.py",
            "tests/test_redis_cache.py",
            "tests/test_rate_limit_redis.py",
            "tests/caches/redis.py",
            "bench/redis_cache.py",
        ],
        "none": [
            f"src/{PACKAGE}/infrastructure/none_cache.py",
            "tests/caches/none.py",
            "bench/none_cache.py",
        ],
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
        f"src/{PACKAGE}/items/events.py",
        f"src/{PACKAGE}/items/consumer.py",
        f"src/{PACKAGE}/items/counters.py",
        f"src/{PACKAGE}/db/write_unit.py",
        "migrations/versions/20260102_0002_create_outbox.py",
        f"deploy/helm/{SLUG}/templates/worker-deployment.yaml",
        "tests/test_events.py",
        "tests/test_outbox.py",
        "tests/test_outbox_metrics.py",
        "tests/test_outbox_indexes.py",
        "tests/test_worker.py",
        "tests/broker.py",
        "tests/brokers",
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
        else:  # gone already when a removed directory held it (events/ for messaging=none)
            target.unlink(missing_ok=True)


# cookiecutter's built-in abbreviations; cruft needs the URL they stand for.
ABBREVIATIONS = {
    "gh": "https://github.com/{0}.git",
    "gl": "https://gitlab.com/{0}.git",
    "bb": "https://bitbucket.org/{0}",
}
# What cookiecutter treats as a repository URL rather than a local path.
REPO_URL = re.compile(r"^((((git|hg)\+)?(git|ssh|file|https?):(//)?)|(\w+@[\w.]+))")


def git(*args: str, cwd: Path) -> str | None:
    """Output of a git command, or None when git is missing or the directory is no checkout."""
    found = shutil.which("git")
    if found is None or not cwd.is_dir():
        return None
    proc = subprocess.run([found, *args], cwd=cwd, capture_output=True, text=True, check=False)
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def template_dir(repo_dir: str) -> Path | None:
    """The template checkout as an absolute path.

    cookiecutter records a local template as typed (often "."), relative to where it was run;
    while hooks run, that process works inside the template, so its cwd is the answer.
    """
    path = Path(repo_dir)
    if not path.is_absolute():
        parent = Path(f"/proc/{os.getppid()}/cwd")  # Linux; elsewhere the shell's PWD
        base = parent.resolve() if parent.exists() else Path(os.environ.get("PWD", "."))
        path = base if (base / "cookiecutter.json").is_file() else base / path
    return path.resolve() if (path / "cookiecutter.json").is_file() else None


def cruft_state(answers: dict[str, object]) -> dict[str, object]:
    """Where `cruft update` finds the template (path or URL) and the commit it was made from."""
    given = str(answers.get("_template", ""))
    prefix, _, rest = given.partition(":")
    remote = prefix in ABBREVIATIONS or bool(REPO_URL.match(given))
    template = ABBREVIATIONS[prefix].format(rest) if prefix in ABBREVIATIONS else given
    template = template.removeprefix("git+")  # cookiecutter's VCS marker; git cannot clone it
    checkout = template_dir(str(answers.get("_repo_dir", given)))
    commit = directory = None
    if checkout is not None:
        commit = git("rev-parse", "HEAD", cwd=checkout)
        top = git("rev-parse", "--show-toplevel", cwd=checkout)
        root = Path(top).resolve() if top else checkout
        template = template if remote else str(root)
        directory = checkout.relative_to(root).as_posix() if root != checkout else None
    return {
        "template": template,
        "commit": commit,
        "checkout": answers.get("_checkout"),
        "directory": directory,
    }


def write_cruft(root: Path, answers: dict[str, object]) -> None:
    """Record answers like `cruft create` does, so `cruft update` can follow the template.

    Under cruft itself (its context carries `_commit`) cruft writes this file after the hook.
    """
    if "_commit" in answers:
        return
    state = cruft_state(answers)
    context = {k: v for k, v in answers.items() if not k.startswith("_")}
    context.update(_template=state["template"], _commit=state["commit"])  # as cruft records them
    state["context"] = {"cookiecutter": context}
    (root / ".cruft.json").write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")


def lock(root: Path) -> str:
    if os.environ.get("TEMPLATE_SKIP_LOCK") == "1":
        return "Lock step skipped (TEMPLATE_SKIP_LOCK=1): `make install` writes uv.lock."
    uv = shutil.which("uv")
    if uv is None:
        return "uv is not on PATH: `make install` in the project installs it and writes uv.lock."
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
        "  make test   # the tests, with coverage\n"
        "  make check  # what CI runs: lint, type-check, tests, OpenAPI and migration checks\n"
    )


if __name__ == "__main__":
    main()
