"""The generated README and the post-generation message work word for word.

Every `make <target>` they name exists in the generated Makefile and every `python -m <module>`
is a module of the project; what a line claims a target does, the target does; a project
without a broker is not told about a worker or an outbox; and the README's worker command is
run for real against the machine's RabbitMQ until its health endpoint answers, then stopped
with SIGTERM. The machine-caller example asks a real OpenID Provider for a token.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx
import jwt
import psutil
import pytest

from tests.options import CHOICES
from tests.services import BROKER_URLS, broker_available
from tests.support.env import free_port, require, run
from tests.support.oidc import RESOURCE, OpenIDProvider, secret
from tests.support.project import Installed, Render, generate
from tests.support.server import serve

FENCE = re.compile(r"^```(?:sh|bash|console)\n(.*?)^```", re.M | re.S)
INLINE = re.compile(r"`([^`\n]+)`")
MAKE = re.compile(r"(?:^|[;&|]\s*|\s)make((?:\s+[a-z][a-z0-9-]*)+)")
PYTHON_M = re.compile(r"\bpython -m ([A-Za-z_][\w.]*)")
FENCED_MAKE = re.compile(r"^\s*make ([a-z-]+)\s+# (.*)$", re.M)  # a command and what it does
TARGET = re.compile(r"^([a-z][a-z0-9-]*):(?!=)([^#\n]*)", re.M)
# What a line may say a target does -> the target that must run for it to be true.
CLAIMS = {"lint": "lint", "type-check": "typecheck", "OpenAPI": "openapi-check"}
CLAIMS |= {"migration": "migrations-check", "worker": "worker"}


def shell_code(markdown: str) -> list[str]:
    """Lines of the fenced shell blocks, then the inline code spans of the prose."""
    blocks = [line for block in FENCE.findall(markdown) for line in block.splitlines()]
    prose = FENCE.sub("", markdown)
    return [line.split(" #", 1)[0] for line in blocks] + INLINE.findall(prose)


def make_targets(code: list[str]) -> set[str]:
    return {t for line in code for group in MAKE.findall(line) for t in group.split()}


def makefile(project: Path) -> dict[str, set[str]]:
    """Each target of the generated Makefile and its prerequisites."""
    text = (project / "Makefile").read_text()
    return {name: set(deps.replace("|", " ").split()) for name, deps in TARGET.findall(text)}


def runs(targets: dict[str, set[str]], target: str) -> set[str]:
    """The target and every prerequisite it pulls in."""
    seen: set[str] = set()
    todo = [target]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += targets.get(name, set())
    return seen


def module_exists(project: Path, dotted: str) -> bool:
    for base in (project / "src", project):
        path = base.joinpath(*dotted.split("."))
        if path.with_suffix(".py").is_file() or (path / "__main__.py").is_file():
            return True
    return False


@pytest.mark.parametrize("messaging", CHOICES["messaging"])
def test_readme_commands_exist(render: Render, messaging: str) -> None:
    project = render(messaging=messaging)
    readme = (project / "README.md").read_text()
    code = shell_code(readme)
    targets = makefile(project)
    named = make_targets(code)
    assert {"run", "test", "check"} <= named, "the README names its everyday targets"
    assert named <= set(targets), f"not in the Makefile: {named - set(targets)}"
    modules = {m for line in code for m in PYTHON_M.findall(line)}
    assert all(module_exists(project, m) for m in modules), modules
    assert ("worker" in named) == (messaging != "none")
    check_claims(targets, FENCED_MAKE.findall("\n".join(FENCE.findall(readme))))


def check_claims(targets: dict[str, set[str]], lines: list[tuple[str, str]]) -> None:
    """`make X  # does Y`: X exists and runs whatever Y names."""
    for name, says in lines:
        assert name in targets, name
        for word, needed in CLAIMS.items():
            if word in says:
                assert needed in runs(targets, name), f"`make {name}` does not {word}: {says}"


def test_readme_without_a_broker_describes_no_worker_or_outbox(render: Render) -> None:
    readme = (render(messaging="none") / "README.md").read_text()
    found = sorted({m.lower() for m in re.findall(r"\b(?:outbox|worker)\w*", readme, re.I)})
    assert not found, f"messaging=none README mentions {found}"


def test_readme_documents_compose_and_the_listen_address(render: Render) -> None:
    project = render()
    readme = (project / "README.md").read_text()
    assert "docker compose up" in readme
    assert "compose.yaml" in readme
    for name in ("PORT", "HOST"):
        assert re.search(rf"\|\s*`{name}`\s*\|", readme), f"{name} is not in the settings table"


def test_post_generation_message_says_what_the_targets_do(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    project = generate({}, tmp_path)
    message = capfd.readouterr().out
    targets = makefile(project)
    lines = FENCED_MAKE.findall(message)
    assert {"run", "test", "check"} <= {name for name, _ in lines}, message
    check_claims(targets, lines)


def runs_module(process: psutil.Process, module: str) -> bool:
    """Is it a Python interpreter running `-m module` (not the `uv run` that started it)?"""
    try:
        argv = process.cmdline()
    except psutil.Error:  # exited meanwhile
        return False
    return bool(argv) and Path(argv[0]).name.startswith("python") and module in argv


def test_readme_worker_command_runs_and_stops_on_sigterm(
    tmp_path_factory: pytest.TempPathFactory,
    installed_project: Callable[[Mapping[str, object]], Installed],
) -> None:
    require(broker_available("rabbitmq"), "RabbitMQ is not reachable on 127.0.0.1:5672")
    project, env = installed_project({})
    code = shell_code((project / "README.md").read_text())
    (command,) = {line.strip() for line in code if re.search(r"\bmake\s+worker\b", line)}
    port = free_port()
    database = tmp_path_factory.mktemp("readme-db") / "app.db"
    worker_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "BROKER_"))},
        **env,
        "ENVIRONMENT": "local",
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "BROKER_URL": BROKER_URLS["rabbitmq"],
        "WORKER_HEALTH_PORT": str(port),
        "EVENTS_PREFIX": f"readme-{uuid.uuid4().hex[:8]}",  # its own exchange and queues
    }
    log = project / "worker.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            shlex.split(command), cwd=project, env=worker_env, stdout=out, stderr=out
        )
    try:
        status = None
        deadline = time.monotonic() + 300  # make install + migrate + broker connect, not timed
        while status != httpx.codes.OK and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code
            except httpx.TransportError:
                continue
        assert status == httpx.codes.OK, log.read_text()[-4000:]
        module = f"{project.name.replace('-', '_')}.worker"
        below = psutil.Process(proc.pid).children(recursive=True)  # make -> uv -> python
        workers = [process.pid for process in below if runs_module(process, module)]
        assert len(workers) == 1, workers
        os.kill(workers[0], signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log.read_text()[-4000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        # The project's own helper removes the queues and exchange named after the prefix.
        package = project.name.replace("-", "_")
        cleanup = (
            "import asyncio; from tests.test_worker import delete_broker_names; "
            f"from {package}.settings import Settings; "
            "asyncio.run(delete_broker_names(Settings(_env_file=None)))"
        )
        broker = {"TEST_BROKER_URL": BROKER_URLS["rabbitmq"]}
        run([env["UV"], "run", "--frozen", "python", "-c", cleanup], project, worker_env | broker)
    assert "worker stopped" in log.read_text()


def test_template_readme_claims_match_the_generated_code(render: Render) -> None:
    """What the template's README says the service does, the default render's code does."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    project = render()
    src = project / "src" / project.name.replace("-", "_")
    pyproject = (project / "pyproject.toml").read_text().lower()
    (traces,) = [line for line in readme.splitlines() if "OpenTelemetry traces" in line]
    for library in ("FastAPI", "SQLAlchemy", "httpx", "Redis", "aiohttp", "asyncpg"):
        if re.search(rf"\b{library}\b", traces.split("|")[1]):
            needed = f"opentelemetry-instrumentation-{library.lower()}"
            assert needed in pyproject, f"README claims {library} instrumentation: no {needed}"
    deps = (src / "api" / "deps.py").read_text()
    if re.search(r"session per request", readme, re.I):
        assert "AsyncSession" in deps, "README: session per request; deps.py opens none"
    code = "\n".join(p.read_text() for p in src.rglob("*.py"))
    if re.search(r"\bGET reads\b", readme):
        assert "request.method" in code, "README: GET reads the replica; routing is per use case"
    assert "_sessions.read()" in code, "reads are routed per use case"


def contents_table(readme: str) -> list[tuple[str, list[str]]]:
    """Each row of "What a generated service contains": the practice and its code spans."""
    section = readme.split("\n## What a generated service contains\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]  # no head, rule
    table = []
    for row in rows:
        practice, files = row.strip().strip("|").rsplit("|", 1)
        table.append((practice.strip(), INLINE.findall(files)))
    return table


def test_template_readme_contents_table_names_files_that_exist(render: Render) -> None:
    """Every file, folder, make target and file section the table names is in a generated project.

    Rendered with ci=both: the table names GitHub's and GitLab's files; everything else it
    names is in the default answers.
    """
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    project = render(ci="both")
    targets = makefile(project)
    table = contents_table(readme)
    assert len(table) >= 25, table
    missing = []
    for practice, names in table:
        assert names, f"no file named for {practice!r}"
        path = project
        for name in names:
            if name.startswith("make "):
                missing += [f"{practice}: make {t}" for t in name.split()[1:] if t not in targets]
                continue
            if name.startswith("[") and name.endswith("]"):  # a section of the file before it
                if not path.is_file() or f"\n{name}\n" not in f"\n{path.read_text()}":
                    missing.append(f"{practice}: {name} in {path.relative_to(project)}")
                continue
            rel = name.replace("<package>", project.name.replace("-", "_"))
            path = project / rel.replace("<slug>", project.name)
            if not (path.is_dir() if rel.endswith("/") else path.is_file()):
                missing.append(f"{practice}: {name}")
    assert not missing, "README names what a generated project lacks:\n" + "\n".join(missing)


def test_readme_client_credentials_example_gets_a_token(
    render: Render, oidc_provider: OpenIDProvider, tmp_path: Path
) -> None:
    """The README's machine-caller commands, run with bash against a real OpenID Provider up
    to the call to the service, give a token it signed for this API with the scopes asked for;
    the call then sends it as a bearer token."""
    for tool in ("curl", "jq"):
        require(shutil.which(tool), f"{tool} is not installed (see .ci/apt-packages)")
    readme = (render() / "README.md").read_text()
    (block,) = [b for b in FENCE.findall(readme) if "grant_type=client_credentials" in b]
    *get_token, call = block.rstrip().splitlines()
    assert re.search(r"^curl .*-H \"Authorization: Bearer \$TOKEN\" http://\S+/api/", call), call
    script = tmp_path / "token.sh"
    script.write_text("set -euo pipefail\n" + "\n".join(get_token) + '\nprintf %s "$TOKEN"\n')
    env = {
        "OIDC_ISSUER": oidc_provider.issuer,
        "OIDC_AUDIENCE": RESOURCE,
        "CLIENT_ID": "writer",
        "CLIENT_SECRET": secret("writer"),
    }
    token = run(["bash", str(script)], tmp_path, env).stdout
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWKSet.from_dict(oidc_provider.jwks())[kid]
    claims = jwt.decode(
        token, key, algorithms=["RS256"], audience=RESOURCE, issuer=oidc_provider.issuer
    )
    assert claims["client_id"] == "writer"
    assert set(claims["scope"].split()) == {"items:read", "items:write"}


def test_readme_api_walkthrough_answers_as_it_says(
    installed_project: Callable[[Mapping[str, object]], Installed], tmp_path: Path
) -> None:
    """ "Using the API", run word for word with bash against the service as `make run` serves it
    (a fresh SQLite database, authentication off): create, the keyed retry replayed, a 304, an
    update, the same ETag again refused, and the filtered page; as the README says they answer."""
    require(shutil.which("curl"), "curl is not installed (see .ci/apt-packages)")
    project, env = installed_project({})
    readme = (project / "README.md").read_text()
    (block,) = [b for b in FENCE.findall(readme) if "Idempotency-Key:" in b]
    database = tmp_path / "app.db"
    served = {**env, "ENVIRONMENT": "local", "DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    with serve(project, served, tmp_path) as server:
        script = block.replace("http://127.0.0.1:8000", server.url)
        assert script != block, "the walkthrough no longer names the address `make run` serves"
        out = run(["bash", "-euo", "pipefail", "-c", script], tmp_path, {}).stdout
    # Bodies end without a newline; text mode reads each CRLF as "\n".
    answers = re.split(r"(?=HTTP/1\.1 \d{3} )", out)[1:]
    statuses = [int(answer.split()[1]) for answer in answers]
    assert statuses == [201, 201, 304, 200, 412, 200], out
    created, replayed, not_modified, updated, refused, page = answers
    assert "location: /api/v2/items/1\n" in created.lower(), created
    assert 'etag: "1"\n' in created.lower(), created
    assert "idempotent-replayed: true" in replayed.lower(), replayed
    assert created.split("\n\n", 1)[1] == replayed.split("\n\n", 1)[1]
    assert not_modified.split("\n\n", 1)[1] == "", not_modified
    assert 'etag: "2"\n' in updated.lower(), updated
    assert "application/problem+json" in refused, refused
    listed = json.loads(page.split("\n\n", 1)[1])["items"]
    assert [(item["name"], item["price_cents"]) for item in listed] == [("Espresso cup", 1100)]
