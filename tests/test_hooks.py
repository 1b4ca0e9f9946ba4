"""Bad answers fail before anything is written, with one clear line naming field and rule."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.env import TEMPLATE

BAD_ANSWERS = [
    ({"project_slug": "Orders"}, "project_slug", "DNS label"),
    ({"project_slug": "orders_service"}, "project_slug", "DNS label"),
    ({"project_slug": "9orders"}, "project_slug", "starting with a letter"),
    ({"project_slug": "orders-"}, "project_slug", "ending with a letter or digit"),
    ({"project_slug": "a" * 54}, "project_slug", "at most 53"),
    ({"project_slug": "logging"}, "package_name", "standard-library"),
    ({"project_slug": "fastapi"}, "package_name", "dependency"),
    ({"project_slug": "test"}, "package_name", "dependency"),
    ({"project_slug": "asyncio"}, "package_name", "standard-library"),
    ({"project_slug": "tests"}, "package_name", "dependency"),
    ({"package_name": "class"}, "package_name", "Python identifier"),
    ({"package_name": "Orders"}, "package_name", "Python identifier"),
    ({"email": "not-an-email"}, "email", "e-mail address"),
    ({"email": "a@b"}, "email", "e-mail address"),
    ({"github_owner": "-bad-"}, "github_owner", "GitHub"),
    ({"project_name": "N" * 61}, "project_name", "at most 60"),
    ({"project_name": "9 Lives"}, "project_slug", "starting with a letter"),
    ({"description": "two\nlines"}, "description", "one line"),
    ({"project_name": "Tab\there"}, "project_name", "one line"),
    ({"author": ""}, "author", "must not be empty"),
]
UNKNOWN_CHOICES = [
    {"messaging": "kinesis"},
    {"cache": "memcached"},
    {"ci": "jenkins"},
    {"rollout": "bluegreen"},
    {"python_version": "3.9"},
]


def generate(tmp_path: Path, answers: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            "--output-dir",
            str(tmp_path),
            str(TEMPLATE),
            *(f"{k}={v}" for k, v in answers.items()),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={"TEMPLATE_SKIP_LOCK": "1", "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.parametrize(
    ("answers", "field", "rule"), BAD_ANSWERS, ids=[f"{f}:{a}"[:60] for a, f, _ in BAD_ANSWERS]
)
def test_bad_answer_is_rejected(
    tmp_path: Path, answers: dict[str, str], field: str, rule: str
) -> None:
    proc = generate(tmp_path, answers)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    (line,) = errors
    value = next(iter(answers.values()))
    assert line.startswith(f"error: {field}="), line
    assert rule in line
    if field in answers:
        assert repr(value) in line
    elif field == "project_slug":
        assert "'9-lives'" in line
    assert list(tmp_path.iterdir()) == [], "a rejected answer left files behind"


@pytest.mark.parametrize("answers", UNKNOWN_CHOICES, ids=",".join)
def test_unknown_option_value_is_rejected(tmp_path: Path, answers: dict[str, str]) -> None:
    proc = generate(tmp_path, answers)
    assert proc.returncode != 0
    ((field, value),) = answers.items()
    # Cookiecutter itself refuses a value outside the choices before our hook runs.
    assert field in proc.stderr
    assert value in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_good_answers_generate(tmp_path: Path) -> None:
    proc = generate(tmp_path, {"project_name": "Billing API", "email": "team@corp.example"})
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "billing-api" / "src" / "billing_api" / "app.py").is_file()
    assert "make run" in proc.stdout


NEW = TEMPLATE / "new.py"
WRAPPED = [
    ({"project_slug": "Bad"}, "error: project_slug='Bad' is invalid: must be a Kubernetes"),
    ({"messaging": "kafkaa"}, "error: messaging='kafkaa' is invalid: must be one of rabbitmq, "),
    ({"python_version": "3.9"}, "error: python_version='3.9' is invalid: must be one of 3.13"),
    ({"messagin": "kafka"}, "error: messagin is not a question of this template"),
]


@pytest.mark.parametrize(("answers", "expected"), WRAPPED, ids=[e[7:30] for _, e in WRAPPED])
def test_make_new_says_what_is_wrong_in_one_line(
    tmp_path: Path, answers: dict[str, str], expected: str
) -> None:
    """`make new` (new.py): the reason, at most cookiecutter's "Stopping generation", no trace."""
    proc = subprocess.run(
        [sys.executable, str(NEW), "--no-input", "--output-dir", str(tmp_path)]
        + [f"{k}={v}" for k, v in answers.items()],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={"TEMPLATE_SKIP_LOCK": "1", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 1
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    assert lines[0].startswith(expected), lines
    assert len(lines) <= 2, lines
    assert all(line.startswith("ERROR: Stopping generation") for line in lines[1:]), lines
    assert list(tmp_path.iterdir()) == []


def test_make_new_generates(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(NEW), "--no-input", "-o", str(tmp_path), "project_name=Billing API"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={"TEMPLATE_SKIP_LOCK": "1", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "billing-api/src/billing_api/app.py").is_file()


@pytest.mark.parametrize("template", [str(TEMPLATE), "."], ids=["absolute", "relative"])
def test_replayed_answer_outside_the_choices_is_rejected(tmp_path: Path, template: str) -> None:
    """A replay file skips cookiecutter's own choice check: the hook's, from cookiecutter.json
    (found also when the template was given relative to the caller's folder)."""
    assert generate(tmp_path / "first", {}).returncode == 0
    state = json.loads((tmp_path / "first/orders-service/.cruft.json").read_text())
    replay = tmp_path / "replay.json"
    replay.write_text(
        json.dumps({"cookiecutter": {**state["context"]["cookiecutter"], "messaging": "kinesis"}})
    )
    out = tmp_path / "second"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--replay-file",
            str(replay),
            "-o",
            str(out),
            template,
        ],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={"TEMPLATE_SKIP_LOCK": "1", "PATH": "/usr/bin:/bin", "PWD": str(TEMPLATE)},
    )
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert proc.returncode != 0
    assert errors == [
        "error: messaging='kinesis' is invalid: must be one of rabbitmq, kafka, nats, none"
    ], proc.stderr
    assert not out.exists() or list(out.iterdir()) == []
