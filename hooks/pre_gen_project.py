"""Validate every answer before cookiecutter writes anything.

Cookiecutter runs this hook before rendering files and removes the project directory when it
exits non-zero, so a rejected answer leaves nothing behind.
"""

from __future__ import annotations

import json
import keyword
import os
import re
import sys
from datetime import date
from pathlib import Path

# Rendered by cookiecutter; a raw string keeps any quotes or backslashes in answers intact.
ANSWERS: dict[str, str] = json.loads(r"""{{ cookiecutter | jsonify }}""")

DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
PACKAGE = re.compile(r"^[a-z][a-z0-9_]*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
GITHUB_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
MAX_NAME = 60  # the name is a Python string on one line of the generated code
MAX_SLUG = 53  # Helm release names and "<slug>-<suffix>" resources must stay <= 63 chars.


def template_choices(template_dir: str) -> dict[str, list[str]]:
    """Each option's choices, from the template's own cookiecutter.json: the one list of them.

    The rendered answers hold only the chosen value. cookiecutter (and its replay, which skips
    its own check) gives the template's folder; cruft gives none, after checking every answer
    against these same lists itself.
    """
    # A local template is recorded as typed (`cookiecutter .`): relative to the caller's folder,
    # which the shell's PWD still names (the hook itself runs in the new project).
    questions = Path(os.environ.get("PWD", "."), template_dir, "cookiecutter.json")
    if not template_dir or not questions.is_file():
        return {}
    raw: dict[str, object] = json.loads(questions.read_text(encoding="utf-8"))
    return {
        key: [str(choice) for choice in value]
        for key, value in raw.items()
        if isinstance(value, list) and not key.startswith("_")
    }


CHOICES = template_choices(r"""{{ cookiecutter._repo_dir | default('') }}""")

# Import names the generated project depends on; a package with one of these names shadows it.
DEPENDENCIES = frozenset(
    {
        "alembic",
        "aiosqlite",
        "anyio",
        "asyncpg",
        "fastapi",
        "faststream",
        "httpx",
        "mypy",
        "prometheus_client",
        "pydantic",
        "pydantic_settings",
        "pytest",
        "redis",
        "ruff",
        "sqlalchemy",
        "starlette",
        "structlog",
        "tests",
        "test",
        "uvicorn",
        "uvloop",
        "httptools",
        "opentelemetry",
        "migrations",
        "app",
        "src",
    }
)


def text_problems(answers: dict[str, str]) -> list[tuple[str, str]]:
    """Free-text answers: present, one line, and short enough for one line of code."""
    found: list[tuple[str, str]] = []
    for field in ("project_name", "author"):
        if not answers.get(field, "").strip():
            found.append((field, "must not be empty"))
    if len(answers.get("project_name", "")) > MAX_NAME:
        found.append(("project_name", f"must be at most {MAX_NAME} characters"))
    for field in ("project_name", "description", "author"):
        if any(not char.isprintable() for char in answers.get(field, "")):
            found.append((field, "must be one line of printable text"))
    if not EMAIL.fullmatch(answers.get("email", "")):
        found.append(("email", "must be an e-mail address like name@example.com"))
    if not GITHUB_OWNER.fullmatch(answers.get("github_owner", "")):
        found.append(("github_owner", "must be a GitHub user or organisation name"))
    return found


def name_problems(answers: dict[str, str]) -> list[tuple[str, str]]:
    """The slug must be a DNS label, the package an importable name that shadows nothing."""
    found: list[tuple[str, str]] = []
    slug = answers.get("project_slug", "")
    package = answers.get("package_name", "")
    if not DNS_LABEL.fullmatch(slug):
        found.append(
            (
                "project_slug",
                "must be a Kubernetes DNS label: lowercase letters, digits and '-', "
                "starting with a letter and ending with a letter or digit",
            )
        )
    elif len(slug) > MAX_SLUG:
        found.append(("project_slug", f"must be at most {MAX_SLUG} characters (got {len(slug)})"))
    if found and package == slug.replace("-", "_"):
        return found  # derived from the bad slug: report the cause once, not its echo
    if not PACKAGE.fullmatch(package) or keyword.iskeyword(package):
        found.append(("package_name", "must be a valid lowercase Python identifier"))
    elif package in sys.stdlib_module_names:
        found.append(("package_name", "must not shadow a standard-library module"))
    elif package in DEPENDENCIES:
        found.append(
            ("package_name", "must not shadow a dependency or tool of the generated project")
        )
    return found


ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def sunset_problems(answers: dict[str, str]) -> list[str]:
    """v1's dates: ISO dates, the sunset after the deprecation (the service's own start-up
    rule). Not "after today": `cruft update` re-renders with the answers stored back then."""
    found: list[str] = []
    dates: dict[str, date] = {}
    for field in ("api_v1_deprecated_on", "api_v1_sunset_on"):
        value = answers.get(field, "")
        try:
            dates[field] = date.fromisoformat(value) if ISO_DATE.fullmatch(value) else date.min
        except ValueError:
            dates[field] = date.min
        if dates[field] == date.min:
            found.append(f"{field}={value!r} is invalid: must be a date (YYYY-MM-DD)")
    deprecated, sunset = dates["api_v1_deprecated_on"], dates["api_v1_sunset_on"]
    if not found and sunset <= deprecated:
        rule = f"must come after api_v1_deprecated_on ({deprecated.isoformat()})"
        found.append(f"api_v1_sunset_on={answers['api_v1_sunset_on']!r} is invalid: {rule}")
    return found


def problems(answers: dict[str, str]) -> list[str]:
    """Return one message per invalid answer: field, value and the rule it breaks."""
    found = [*text_problems(answers), *name_problems(answers)]
    found += [
        (field, f"must be one of {', '.join(allowed)}")
        for field, allowed in CHOICES.items()
        if answers.get(field) not in allowed
    ]
    return [f"{field}={answers.get(field, '')!r} is invalid: {rule}" for field, rule in found]


def main() -> int:
    errors = problems(ANSWERS) + sunset_problems(ANSWERS)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
