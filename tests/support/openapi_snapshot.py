"""Refresh the template's committed `openapi.json` after an intended API change.

    .venv/bin/python -m tests.support.openapi_snapshot

Renders the default project, installs it with uv, writes its OpenAPI document with the project's
own `make openapi`, and stores it in the template with the project's name and description put
back as Jinja expressions. The generated project's `tests/test_openapi.py` (and CI's
`make openapi-check`) fail until this is done; review the diff: a change under /api/v1 must not
be breaking (`scripts/openapi.py breaking`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[2]
TARGET = TEMPLATE / "{{cookiecutter.project_slug}}" / "openapi.json"


def main() -> int:
    from cookiecutter.main import cookiecutter  # noqa: PLC0415 - a tool of the template's venv

    defaults = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    uv = str(Path(sys.executable).with_name("uv"))
    os.environ["TEMPLATE_SKIP_LOCK"] = "1"
    with tempfile.TemporaryDirectory() as out:
        project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=out))
        env = {**os.environ, "UV": uv, "VIRTUAL_ENV": ""}
        subprocess.run([uv, "lock", "--quiet"], cwd=project, env=env, check=True)
        subprocess.run(["make", "openapi", f"UV={uv}"], cwd=project, env=env, check=True)
        text = (project / "openapi.json").read_text()
    for key, value in (("title", "project_name"), ("description", "description")):
        literal = f'    "{key}": {json.dumps(defaults[value], ensure_ascii=False)},\n'
        if text.count(literal) != 1:
            sys.exit(f"error: info.{key} is not {defaults[value]!r} exactly once")
        text = text.replace(literal, f'    "{key}": {{{{ cookiecutter.{value} | tojson }}}},\n')
    TARGET.write_text(text)
    print(f"wrote {TARGET.relative_to(TEMPLATE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
