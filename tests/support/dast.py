"""Run the generated project's `make dast` (schemathesis) against a live server and read it."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DastRun:
    output: str
    operations: int
    cases: int
    seconds: float
    scenarios: int = 0  # of the stateful phase, which follows the document's links
    links_covered: int = 0
    links_total: int = 0


def run_dast(
    project: Path,
    env: Mapping[str, str],
    schemathesis: Path,
    url: str,
    *make_args: str,
    timeout: float = 420,
    token: str | None = None,
    hooks: Path | None = None,
) -> DastRun:
    """`make dast`; asserts it passed, tested every operation and that every case passed.

    With `token`, every request carries it as a bearer token (DAST_TOKEN, from the environment
    so it stays off the command line); it must outlive the run. `hooks` is a file of checks of
    our own that schemathesis loads (SCHEMATHESIS_HOOKS) and runs with its own.
    """
    extra = {"DAST_TOKEN": token} if token else {}
    extra |= {"SCHEMATHESIS_HOOKS": str(hooks)} if hooks else {}
    started = time.perf_counter()
    proc = subprocess.run(
        ["make", "dast", f"SCHEMATHESIS={schemathesis}", f"DAST_URL={url}", *make_args],
        cwd=project,
        env={**os.environ, **env, **extra},
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    seconds = time.perf_counter() - started
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    operations = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", output)
    cases = re.search(r"(\d+) generated, (\d+) passed", output)
    assert operations, output[-3000:]
    assert cases, output[-3000:]
    selected, total, tested = map(int, operations.groups())
    assert selected == total == tested, "every operation of the schema must be exercised"
    generated, passed = map(int, cases.groups())
    assert generated == passed > 0, output[-3000:]
    scenarios = re.search(r"Scenarios:\s+(\d+)", output)
    links = re.search(r"API Links:\s+(\d+) covered / \d+ selected / (\d+) total", output)
    stateful = (int(scenarios[1]), int(links[1]), int(links[2])) if scenarios and links else ()
    return DastRun(output, tested, generated, seconds, *stateful)
