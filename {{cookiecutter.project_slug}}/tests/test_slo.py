"""The files generated from deploy/observability/slo.yaml are committed: they must be current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_generated_slo_files_are_current() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "scripts.slo", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"run `make slo`:\n{proc.stderr}"
