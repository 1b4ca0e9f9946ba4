"""The generated container image, built and run for real with buildah (no Docker engine here).

For the default combination and kafka/no-cache/gitlab: hadolint on the Dockerfile, then one
real build from stand-in base images (``support/base_image.py``) and real runs of the image on
a read-only root with a tmpfs ``/tmp``: migrations, uid, probes, metrics, contents, size, time
to ready and SIGTERM (the compose file is ``test_compose.py``'s). Figures are printed
(``pytest -s``) and recorded with ``figure``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
import tomllib
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.support.base_image import BUILDAH, ensure_base_image, ensure_uv_image, image_size
from tests.support.env import CACHE, TEMPLATE, find_python, free_port, require, run
from tests.support.project import Render, generate
from tests.support.timing import Budget, Figure

pytestmark = [pytest.mark.xdist_group("image")]

MB = 1_000_000
# Runtime image over its base image. Issue 3 set 80 MB (77.7 MB then). Checking bearer tokens
# (issue 18) needs `cryptography`, the OpenSSL bindings under every maintained JOSE library
# (hand-written cryptography is no option): 12 MB stripped, ~16 MB with its bytecode and cffi.
# Dropping uvicorn's unused [standard] extras won ~3 MB back. The rest keeps issue 3's budget.
CRYPTOGRAPHY_MB = 16
MAX_DELTA_MB = 80 + CRYPTOGRAPHY_MB
# Process start to the first 200 on /readyz: 2 s where the reference workload took 0.70 s
# (an idle machine of this kind; the image was ready in 0.8-0.9 s there).
READY = Budget("start to first 200 on /readyz", target=2.0, reference=0.70)
GRACEFUL_TIMEOUT_S = 20  # the service's default GRACEFUL_TIMEOUT (docs/CONTRACT.md)
VERSION = "9.8.7"
REVISION = "0123456789abcdef0123456789abcdef01234567"

COMBINATIONS: dict[str, dict[str, str]] = {
    "default": {},
    "kafka-nocache-gitlab": {"messaging": "kafka", "cache": "none", "ci": "gitlab"},
}
DEV_TOOLS = ("pytest", "mypy", "ruff")
DECOYS = (".env", ".env.local", ".git/config", "src/PACKAGE/.env", "migrations/.env")
SQLITE_IN_TMP = "sqlite+aiosqlite:////tmp/app.db"  # docs/CONTRACT.md: on a read-only root

# Make the container's root filesystem read-only for one `buildah run`, in a private mount
# namespace that disappears with the process (nothing leaks onto the host, even on a crash).
# /run stays as it was (root-owned, so still unwritable to uid 10001) because buildah itself
# creates and removes /run/.containerenv around the command.
READ_ONLY_ROOT = r"""
set -eu
root=$1; hold=$2; shift 2
mount --bind "$root/run" "$hold"
mount --bind "$root" "$root"
mount -o remount,bind,ro "$root"
mount --bind "$hold" "$root/run"
exec "$@"
"""


def buildah(*args: str, timeout: float = 300) -> str:
    return str(run([*BUILDAH, *args], cwd=TEMPLATE, timeout=timeout).stdout)


def containers_of(images: set[str]) -> list[str]:
    """IDs of the buildah working containers made from any of these images."""
    listing = json.loads(run([*BUILDAH, "containers", "--json"], cwd=TEMPLATE).stdout) or []
    return [c["id"] for c in listing if c["imagename"] in images]


def http_get(url: str, timeout: float = 2.0) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback
            return resp.status, resp.headers.get("content-type", ""), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("content-type", ""), err.read().decode()


def descendants(pid: int) -> list[int]:
    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:  # exited already
        return []


def cmdline(pid: int) -> list[str]:
    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:  # exited meanwhile
        return []


def proc_ids(pid: int) -> dict[str, list[int]]:
    # /proc, not psutil: psutil's uids()/gids() leave out the fourth, the filesystem id.
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {
        key: [int(v) for v in line.split()[1:]]
        for line in lines
        for key in ("Uid", "Gid")
        if line.startswith(f"{key}:")
    }


# --------------------------------------------------------------------------- rendering


@dataclass
class Project:
    name: str
    answers: dict[str, str]
    path: Path
    package: str
    tool_bin: Path


@pytest.fixture(scope="module", params=list(COMBINATIONS), ids=list(COMBINATIONS))
def project(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    tool: Callable[[str], Path],
) -> Project:
    """The template rendered once per combination, with its uv.lock (the hook's lock step)."""
    name = request.param
    answers = COMBINATIONS[name]
    tool_bin = tool("image")
    python = find_python("3.13")
    require(python, "python3.13 is not installed")
    # The hook's `uv lock` uses the uv pinned for the image (the Dockerfile's version).
    lock_env = {"PATH": f"{tool_bin}{os.pathsep}{os.environ['PATH']}", "UV_PYTHON": str(python)}
    path = generate(answers, tmp_path_factory.mktemp(f"image-{name}"), lock_with=lock_env)
    package = path.name.replace("-", "_")
    return Project(name, answers, path, package, tool_bin)


def test_hadolint_clean(project: Project) -> None:
    proc = run(
        [
            str(project.tool_bin / "hadolint"),
            "--no-color",
            "--failure-threshold",
            "info",
            "Dockerfile",
        ],
        cwd=project.path,
    )
    assert proc.stdout.strip() == "", proc.stdout


def test_dockerfile_pins_bases_by_digest_and_matches_tested_uv(project: Project) -> None:
    text = (project.path / "Dockerfile").read_text()
    args = dict(re.findall(r"^ARG (PYTHON_IMAGE|UV_IMAGE)=(\S+)$", text, flags=re.MULTILINE))
    assert re.fullmatch(
        r"docker\.io/library/python:3\.13-slim-trixie@sha256:[0-9a-f]{64}", args["PYTHON_IMAGE"]
    ), args
    match = re.fullmatch(
        r"ghcr\.io/astral-sh/uv:(\d+\.\d+\.\d+)@sha256:[0-9a-f]{64}", args["UV_IMAGE"]
    )
    assert match, args
    # The stand-in uv comes from tests/tools/image.txt: keep the two versions in step.
    pinned = run([str(project.tool_bin / "uv"), "--version"], cwd=project.path).stdout.split()[1]
    assert match.group(1) == pinned, f"Dockerfile uses uv {match.group(1)}, tests use {pinned}"


def test_dockerfile_follows_python_version(render: Render, tool: Callable[[str], Path]) -> None:
    """python_version=3.12 gets the 3.12 base and interpreter (built only for 3.13 here)."""
    path = render(python_version="3.12")
    text = (path / "Dockerfile").read_text()
    assert re.search(
        r"^ARG PYTHON_IMAGE=docker\.io/library/python:3\.12-slim-trixie@sha256:[0-9a-f]{64}$",
        text,
        flags=re.MULTILINE,
    )
    assert "UV_PYTHON=python3.12 " in text
    assert "3.13" not in text
    run([str(tool("image") / "hadolint"), "--no-color", "Dockerfile"], cwd=path)


# --------------------------------------------------------------------------- the image


@dataclass
class Built:
    project: Project
    image: str
    base: str
    size: int
    base_size: int
    build_seconds: float
    config: dict[str, Any]
    base_seconds: float


@dataclass(frozen=True)
class Standins:
    base: str
    uv: str
    base_seconds: float  # 0.0 when the cached base image was reused


@pytest.fixture(scope="session")
def standins(tool: Callable[[str], Path]) -> Standins:
    require(os.geteuid() == 0, "the image tests run buildah and bind mounts as root")
    for binary in ("buildah", "debootstrap", "unshare", "mount"):
        require(shutil.which(binary), f"{binary} is not installed (see .ci/apt-packages)")
    CACHE.mkdir(parents=True, exist_ok=True)
    base, seconds = ensure_base_image(CACHE)
    return Standins(base, ensure_uv_image(CACHE, tool("image") / "uv"), seconds)


@contextlib.contextmanager
def exclusive() -> Iterator[None]:
    """One build or timed start at a time on this machine (2 cores; xdist may run both
    combinations at once): a build next to a start would be measured as a slow start."""
    (CACHE / "image").mkdir(parents=True, exist_ok=True)
    with (CACHE / "image" / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def build_image(project: Project, standins: Standins, image: str) -> float:
    """Build the generated project's Dockerfile from the stand-ins; returns seconds taken."""
    bases = {standins.base, standins.uv}
    # The leftover clean-up below must only see this build's containers.
    with exclusive():
        before = set(containers_of(bases))
        started = time.monotonic()
        try:
            buildah(
                "build",
                "--isolation",
                "chroot",
                "--pull=never",
                "--layers=false",
                "--build-arg",
                f"PYTHON_IMAGE={standins.base}",
                "--build-arg",
                f"UV_IMAGE={standins.uv}",
                "--build-arg",
                f"VERSION={VERSION}",
                "--build-arg",
                f"REVISION={REVISION}",
                # PyPI is reached through this machine's TLS proxy: lend its CA store to RUN.
                "--volume",
                "/etc/ssl/certs:/etc/ssl/certs:ro",
                "--tag",
                image,
                str(project.path),
                timeout=1200,
            )
            return time.monotonic() - started
        finally:
            # buildah 1.28 leaves the working container of a FROM-only stage (`uv`) behind.
            for leftover in set(containers_of(bases)) - before:
                subprocess.run(
                    [*BUILDAH, "rm", leftover], capture_output=True, timeout=120, check=False
                )


def context_digest(project: Project, standins: Standins) -> str:
    """Everything the build reads: the build context, the stand-in bases and the build args."""
    digest = hashlib.sha256(f"{standins.base} {standins.uv} {VERSION} {REVISION}".encode())
    for path in sorted(p for p in project.path.rglob("*") if p.is_file()):
        digest.update(f"\0{path.relative_to(project.path)}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def image_exists(image: str) -> bool:
    proc = subprocess.run(
        [*BUILDAH, "inspect", "--type", "image", image],
        capture_output=True,
        timeout=120,
        check=False,
    )
    return proc.returncode == 0


@pytest.fixture(scope="module")
def built(project: Project, standins: Standins) -> Built:
    """The image of this combination, built once per content: the timing run (a second pytest
    process, after the parallel one) measures the image the parallel run built and tested.

    Only the newest image of each combination is kept, so storage does not grow run by run.
    """
    # What a developer's checkout holds and the image must not: secrets and git metadata,
    # also inside the source tree (test_image_contents looks for every one of them).
    for decoy in DECOYS:
        target = project.path / decoy.replace("PACKAGE", project.package)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("SECRET=decoy\n")
    repository = f"localhost/template-image-test-{project.name}"
    image = f"{repository}:{context_digest(project, standins)}"
    with exclusive():
        reused = image_exists(image)
    seconds = 0.0 if reused else build_image(project, standins, image)
    listing = json.loads(run([*BUILDAH, "images", "--json"], cwd=TEMPLATE).stdout) or []
    for entry in listing:
        for name in entry.get("names") or []:
            if name.startswith(f"{repository}:") and name != image:
                remove = [*BUILDAH, "rmi", "--force", name]
                subprocess.run(remove, capture_output=True, timeout=300, check=False)
    config = json.loads(buildah("inspect", "--type", "image", image))["OCIv1"]["config"]
    return Built(
        project,
        image,
        standins.base,
        image_size(image),
        image_size(standins.base),
        seconds,
        config,
        standins.base_seconds,
    )


def report(figure: Figure, built: Built, text: str) -> None:
    line = f"[image:{built.project.name}] {text}"
    print(f"\n{line}")
    figure(line)


def test_image_size(built: Built, figure: Figure) -> None:
    delta = built.size - built.base_size
    base = f"made in {built.base_seconds:.0f} s" if built.base_seconds else "reused"
    report(
        figure,
        built,
        f"stand-in base {base}; "
        + (f"build {built.build_seconds:.1f} s; " if built.build_seconds else "image reused; ")
        + f"base {built.base_size / MB:.1f} MB, image {built.size / MB:.1f} MB, "
        f"delta {delta / MB:.1f} MB (target <= {MAX_DELTA_MB} MB: 80 + {CRYPTOGRAPHY_MB} for "
        "cryptography)",
    )
    assert delta <= MAX_DELTA_MB * MB


def test_image_config(built: Built) -> None:
    config = built.config
    assert config["User"] == "10001:10001"
    assert config["WorkingDir"] == "/app"
    assert set(config["ExposedPorts"]) == {"8000/tcp"}
    assert config.get("StopSignal") == "SIGTERM"
    assert not config.get("Entrypoint")
    # Exec form, the server itself as the process (no shell that would swallow SIGTERM).
    assert config["Cmd"] == ["python", "-m", built.project.package]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["HOST"] == "0.0.0.0"  # noqa: S104 - listening on all interfaces is the point
    assert env["PORT"] == "8000"
    assert env["PATH"].startswith("/app/.venv/bin:")
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == VERSION
    assert labels["org.opencontainers.image.revision"] == REVISION
    assert labels["org.opencontainers.image.source"] == (
        f"https://github.com/example-org/{built.project.path.name}"
    )


@dataclass
class Container:
    name: str
    root: Path


@pytest.fixture(scope="module")
def container(built: Built) -> Iterator[Container]:
    name = f"imgtest-{built.project.name}-{uuid.uuid4().hex[:8]}"
    buildah("from", "--pull=never", "--name", name, built.image)
    try:
        root = Path(buildah("mount", name).strip())
        yield Container(name, root)
    finally:
        subprocess.run([*BUILDAH, "rm", name], capture_output=True, timeout=300, check=False)


def runtime_distributions(project: Project) -> set[str]:
    proc = run(
        [
            str(project.tool_bin / "uv"),
            "export",
            "--frozen",
            "--no-dev",
            "--no-hashes",
            "--no-emit-project",
            "--no-header",
            "--no-annotate",
        ],
        cwd=project.path,
    )
    names = {
        re.split(r"[=<>\[; ]", line.strip(), maxsplit=1)[0] for line in proc.stdout.splitlines()
    }
    return {canonical(n) for n in names if n and not n.startswith(("#", "-"))}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_image_contents(built: Built, container: Container) -> None:
    app = container.root / "app"
    # Only the virtualenv and what `alembic upgrade head` needs: no src, tests, .git, .env.
    assert sorted(p.name for p in app.iterdir()) == [".venv", "alembic.ini", "migrations"]
    for path in app.rglob("*"):
        assert path.name != ".git", path
        assert not path.name.startswith(".env"), path
        assert path.name != "uv.lock", path
    site = next((app / ".venv/lib").glob("python3.*/site-packages"))
    installed = {canonical(p.name.split("-", 1)[0]) for p in site.glob("*.dist-info")}
    pyproject = tomllib.loads((built.project.path / "pyproject.toml").read_text())
    dev = {
        canonical(re.split(r"[=<>\[; ]", d, maxsplit=1)[0])
        for d in pyproject["dependency-groups"]["dev"]
    }
    dev_only = dev - runtime_distributions(built.project)
    assert set(DEV_TOOLS) <= dev_only
    assert not installed & dev_only, f"dev dependencies in the image: {installed & dev_only}"
    # Neither the project's tests nor any package's bundled test suite, nor build inputs.
    leftovers = [
        p.relative_to(site)
        for p in site.rglob("*")
        if (p.is_dir() and p.name == "tests") or p.suffix in {".pyx", ".c", ".h", ".pyi"}
    ]
    assert not leftovers, leftovers[:20]
    # The app is installed as a wheel (not editable) and byte-compiled ahead of time.
    package = site / built.project.package
    assert (package / "__init__.py").is_file()
    for pth in site.glob("*.pth"):
        assert "/app/src" not in pth.read_text(), pth
    sources = list(package.rglob("*.py"))
    compiled = list(package.rglob("__pycache__/*.pyc"))
    assert sources
    assert len(compiled) >= len(sources), (len(sources), len(compiled))
    # Owned by root: uid 10001 cannot change its own code even on a writable root.
    assert package.stat().st_uid == 0


def read_only_run(container: Container, hold: Path, env: dict[str, str]) -> list[str]:
    """argv: `buildah run` on a read-only root with a tmpfs /tmp, as the image's USER."""
    hold.mkdir(parents=True, exist_ok=True)
    env_args = [arg for key, value in env.items() for arg in ("--env", f"{key}={value}")]
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        READ_ONLY_ROOT,
        "read-only-root",
        str(container.root),
        str(hold),
        *BUILDAH,
        "run",
        "--isolation",
        "chroot",
        "--mount",
        "type=tmpfs,destination=/tmp",
        *env_args,
        container.name,
        "--",
    ]


def test_migrations_run_on_read_only_root(
    built: Built, container: Container, tmp_path: Path
) -> None:
    """The image's `alembic upgrade head` (what the chart's migration Job runs) works."""
    argv = read_only_run(container, tmp_path / "run", {"DATABASE_URL": SQLITE_IN_TMP})
    proc = run([*argv, "alembic", "upgrade", "head"], cwd=tmp_path, timeout=120)
    assert "Running upgrade" in proc.stdout + proc.stderr


def test_bytecode_is_used_not_recompiled(
    built: Built, container: Container, tmp_path: Path
) -> None:
    """Every module of the app loads from its ahead-of-time .pyc (none is stale)."""
    argv = read_only_run(container, tmp_path / "run", {})
    proc = run([*argv, "python", "-v", "-c", f"import {built.project.package}.app"], cwd=tmp_path)
    loaded = [ln for ln in proc.stderr.splitlines() if ln.startswith("# code object from '/app/")]
    stale = [ln for ln in proc.stderr.splitlines() if "bytecode is stale" in ln]
    assert len(loaded) > 100
    assert not stale, stale[:10]


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    app_pid: int
    port: int
    ready_seconds: float
    log: Path


def start(built: Built, container: Container, log: Path) -> Served:
    """Run the image's command on a read-only root, /tmp a tmpfs, as the image's USER."""
    port = free_port()
    command = [*(built.config.get("Entrypoint") or []), *built.config["Cmd"]]
    env = {"PORT": str(port), "DATABASE_URL": SQLITE_IN_TMP}
    argv = [*read_only_run(container, log.with_suffix(".run"), env), *command]
    with exclusive(), log.open("wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        deadline = started + 60
        ready = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status, _, _ = http_get(f"http://127.0.0.1:{port}/readyz", timeout=1)
            except OSError:
                status = 0
            if status == 200:
                ready = time.monotonic() - started
                break
            time.sleep(0.02)
    app_pids = [
        pid
        for pid in descendants(proc.pid)
        if cmdline(pid)[:1]
        and cmdline(pid)[0].endswith("/python")
        and cmdline(pid)[1:] == command[1:]
    ]
    if ready is None or len(app_pids) != 1:
        stop(proc, app_pids)
        pytest.fail(
            f"the container never became ready (pids {app_pids}):\n"
            f"{log.read_text(errors='replace')[-4000:]}",
            pytrace=False,
        )
    return Served(proc, app_pids[0], port, ready, log)


def stop(proc: subprocess.Popen[bytes], pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=60)


@pytest.fixture(scope="module")
def served(
    built: Built, container: Container, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    log = tmp_path_factory.mktemp(f"run-{built.project.name}") / "container.log"
    server = start(built, container, log)
    try:
        yield server
    finally:
        stop(server.proc, [server.app_pid])


def test_runs_as_uid_10001(served: Served) -> None:
    ids = proc_ids(served.app_pid)
    assert ids["Uid"] == [10001] * 4
    assert ids["Gid"] == [10001] * 4
    # The server is exec'd directly by the runtime, not wrapped in a shell.
    parent = psutil.Process(served.app_pid).ppid()
    assert cmdline(parent)[0].startswith("buildah-chroot-exec"), cmdline(parent)


def test_probes_and_metrics(served: Served) -> None:
    base = f"http://127.0.0.1:{served.port}"
    for path in ("/livez", "/readyz"):
        status, _, body = http_get(base + path)
        assert status == 200, (path, body)
        assert json.loads(body)["status"] == "ok"
    status, content_type, body = http_get(base + "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain")
    assert "http_server_request_duration_seconds" in body
    # Its SQLite file in /tmp was never migrated: start-up is not over, and the image's own
    # migrations (/app/alembic.ini) name the revision it waits for.
    status, content_type, body = http_get(base + "/startupz")
    assert (status, content_type) == (503, "application/problem+json"), body
    schema = json.loads(body)["schema"]
    assert schema["database"] == []
    assert schema["expected"], body


@pytest.mark.timing  # run alone, after the parallel suite: see the Makefile's test target
def test_ready_in_time(
    built: Built, container: Container, reference: float, tmp_path: Path, figure: Figure
) -> None:
    """Process start to the first 200 on /readyz, as a multiple of this machine's reference."""

    def once() -> None:
        again = start(built, container, tmp_path / f"ready-{uuid.uuid4().hex[:6]}.log")
        stop(again.proc, [again.app_pid])
        attempts.append(again.ready_seconds)

    attempts: list[float] = []
    for _ in range(3):
        once()
    ready = min(attempts)
    line = READY.describe(ready, reference)
    report(figure, built, f"{line} (best of {', '.join(f'{s:.2f}' for s in attempts)} s)")
    assert READY.holds(ready, reference), line


def test_sigterm_exits_zero_within_grace(built: Built, served: Served, figure: Figure) -> None:
    """SIGTERM to the server: it drains and exits 0, well within its grace period."""
    started = time.monotonic()
    os.kill(served.app_pid, signal.SIGTERM)
    deadline = started + GRACEFUL_TIMEOUT_S + 5
    app_exit = None  # the server process gone; the container's exit adds buildah's teardown
    while time.monotonic() < deadline and served.proc.poll() is None:
        if app_exit is None and not psutil.pid_exists(served.app_pid):
            app_exit = time.monotonic() - started
        time.sleep(0.01)
    code = served.proc.poll()
    seconds = time.monotonic() - started
    app_exit = seconds if app_exit is None else app_exit
    report(
        figure,
        built,
        f"SIGTERM to server exit {app_exit:.2f} s, to container exit {seconds:.2f} s; "
        f"exit code {code} (grace {GRACEFUL_TIMEOUT_S} s)",
    )
    log = served.log.read_text(errors="replace")
    assert code == 0, f"exit code {code}\n{log[-4000:]}"
    assert seconds < GRACEFUL_TIMEOUT_S
    assert "Finished server process" in log
