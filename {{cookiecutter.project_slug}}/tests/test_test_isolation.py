"""The suite ignores the caller's settings: exported variables and a `.env` change no test.

The README's PostgreSQL recipe exports DATABASE_URL before `make test`, and CI jobs set it
job-wide; tests/conftest.py removes every variable `Settings` reads and runs each test in its
own directory. (Tests never touch the database TEST_DATABASE_URL names: the template's suite
runs this suite against a database holding rows and counts them afterwards.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from {{ cookiecutter.package_name }}.settings import Settings
from tests.conftest import ROOT, SETTINGS_VARIABLES

# A caller's environment that breaks the settings tests if any of it reaches them.
HOSTILE = {
    "DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/theirs",
    "environment": "production",  # names match case-insensitively
    "LOG_LEVEL": "DEBUG",
}


INNER = [
    "--rootdir",
    str(ROOT),
    "-c",
    str(ROOT / "pyproject.toml"),
    str(ROOT / "tests/test_settings.py"),
]


def test_every_settings_variable_is_covered() -> None:
    assert {"database_url", "environment", "log_level"} <= SETTINGS_VARIABLES
    assert len(SETTINGS_VARIABLES) == len(Settings.model_fields)


def test_no_variable_or_env_file_of_the_caller_reaches_a_test() -> None:
    assert not [name for name in os.environ if name.lower() in SETTINGS_VARIABLES]
    assert not Path(".env").exists()
    assert Settings() == Settings(_env_file=None)


def test_settings_tests_pass_under_a_hostile_environment_and_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DATABASE_URL=mysql://db/theirs\nPORT=1\n")
    proc = subprocess.run(  # noqa: S603 - pytest of this project, with this interpreter
        [sys.executable, "-m", "pytest", "-q", "--no-cov", "-p", "no:cacheprovider", *INNER],
        cwd=tmp_path,
        env={**os.environ, **HOSTILE},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
