"""This machine's equivalents of what a CI runner provides to the generated pipelines.

`actions/checkout` (and GitLab's implicit clone) is a `git clone` of the generated project's
repository; `astral-sh/setup-uv` and the `python:X-slim` image are the uv and Python of
`project_env`; services are a scratch PostgreSQL database and the generated app served from the
installed project (the stand-in for the image `docker build` would make). Each replacement of a
command says why the original cannot run here.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from tests.services import PG_PORT, scratch_database
from tests.support.env import find_python, require, run
from tests.support.pipeline import JobRun, Locals, LocalService, Substitute
from tests.support.pipeline_load import Service, Step
from tests.support.server import Server, serve

REGISTRY = "registry.example.com"
BRANCH = "main"  # the default branch, and the target of the simulated pull/merge request
# The container's localhost is not this machine's: its cache and broker are unreachable there.
CLOSED_BROKER = {
    "rabbitmq": "amqp://guest:guest@127.0.0.1:1/",
    "kafka": "127.0.0.1:1",
    "nats": "nats://127.0.0.1:1",
    "none": "",
}
# What replaces a GitLab `.python` before_script line: the image's tools are this machine's.
GITLAB_LINES = {
    "apt-get update -qq && apt-get install -y -qq --no-install-recommends make git >/dev/null": (
        "the image's make and git are this machine's (no apt-get here)",
        "command -v make git >/dev/null",
    ),
    'pip install --quiet --root-user-action=ignore "uv==${UV_VERSION}"': (
        "uv is the one project_env puts on PATH, not pip-installed into the image",
        "command -v uv >/dev/null",
    ),
}
# The machine's network settings (proxy, CA bundle) reach PyPI as a CI runner's own network does;
# nothing else of the caller's environment is passed on.
NETWORK = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "GIT_SSL_CAINFO",
    "PIP_CERT",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)
HELM_CLI = Path(__file__).with_name("helm_cli.py")
DAST_CONTAINER = Service(image="app:dast", hosts=("127.0.0.1:8000", "localhost:8000"))


def git(*args: str, cwd: Path) -> str:
    return run(["git", *args], cwd=cwd).stdout.strip()


def commit_repository(root: Path, tag: str) -> str:
    """The generated project as its first commit on `main`, tagged as the release; its sha."""
    ident = ["-c", "user.name=pipeline", "-c", "user.email=pipeline@example.com"]
    ident += ["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"]
    git("init", "--quiet", "--initial-branch", BRANCH, cwd=root)
    git("add", "--all", cwd=root)
    git(*ident, "commit", "--quiet", "--message", "feat: generated project", cwd=root)
    git(*ident, "tag", tag, cwd=root)
    return git("rev-parse", "HEAD", cwd=root)


def clone(source: Path) -> Callable[[Path, str | None], None]:
    """`actions/checkout` and GitLab's clone: the generated repository, full history."""

    def checkout(dest: Path, ref: str | None) -> None:
        run(["git", "clone", "--quiet", str(source), str(dest)], cwd=dest.parent)
        if ref:
            git("checkout", "--quiet", ref, cwd=dest)

    return checkout


def setup_uv(job: JobRun, step: Step, inputs: Mapping[str, str]) -> None:
    """uv is already on PATH; `python-version` pins UV_PYTHON to that interpreter, as the action."""
    if version := inputs.get("python-version"):
        job.env["UV_PYTHON"] = python_path(version)


def python_path(version: str) -> str:
    python = find_python(version)
    require(python, f"Python {version} is not installed")
    assert python is not None
    return python


def python_image(job: JobRun, image: str) -> dict[str, str]:
    """`python:3.13-slim`: that Python, first on PATH and the one uv uses."""
    python = python_path(image.split(":", 1)[1].removesuffix("-slim"))
    job.path.insert(0, str(Path(python).parent))
    return {"UV_PYTHON": python}


class Helm:
    """`helm` on PATH: tests/support/helm_cli.py in the chart tool virtualenv (no helm binary)."""

    def __init__(self, python: Path) -> None:
        self.python = python

    def install(self, job: JobRun) -> None:
        bin_dir = job.temp / "helm-bin"
        bin_dir.mkdir(exist_ok=True)
        wrapper = bin_dir / "helm"
        wrapper.write_text(f'#!/bin/sh\nexec "{self.python}" "{HELM_CLI}" "$@"\n')
        wrapper.chmod(0o755)
        job.path.insert(0, str(bin_dir))

    def action(self, job: JobRun, step: Step, inputs: Mapping[str, str]) -> None:
        """`azure/setup-helm`: the stand-in, whatever `version` asks for."""
        self.install(job)

    def image(self, job: JobRun, image: str) -> dict[str, str]:
        """`alpine/k8s`: its helm (kubectl and aws are for the deploy jobs, which do not run)."""
        self.install(job)
        return {}


def upload_artifact(job: JobRun, step: Step, inputs: Mapping[str, str]) -> None:
    """Kept beside the job (no artifact store here); a missing path only warns, as the action."""
    source = job.workdir / inputs["path"]
    if source.exists():
        shutil.copytree(source, job.temp / "artifacts" / inputs["name"], dirs_exist_ok=True)


def checkout_action(job: JobRun, step: Step, inputs: Mapping[str, str]) -> None:
    job.locals.checkout(job.workdir, inputs.get("ref") or None)


@contextmanager
def postgres(job: JobRun, service: Service) -> Iterator[LocalService]:
    """A scratch database on the machine's PostgreSQL, dropped after the job."""
    with scratch_database("pipeline") as url:
        parts = urlsplit(url)
        assert parts.hostname is not None
        yield LocalService(parts.hostname, parts.port or PG_PORT, 5432, parts.path.lstrip("/"))


def port_of(server: Server) -> int:
    port = urlsplit(server.url).port
    assert port is not None
    return port


class App:
    """The generated service served from the installed project: the image's stand-in."""

    def __init__(self, source: Path, env: Mapping[str, str], answers: Mapping[str, str]) -> None:
        self.source, self.env, self.answers = source, env, answers

    @contextmanager
    def serve(self, job: JobRun, variables: Mapping[str, str]) -> Iterator[Server]:
        """The container's /tmp is the job's temp dir; its localhost has no cache or broker."""
        env = {
            **self.env,
            **{
                k: v.replace("sqlite+aiosqlite:////tmp/", f"sqlite+aiosqlite:///{job.temp}/")
                for k, v in variables.items()
            },
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "BROKER_URL": CLOSED_BROKER[self.answers["messaging"]],
        }
        package = self.answers["package_name"]
        with serve(self.source, env, job.temp, module=package, name="app") as server:
            yield server

    @contextmanager
    def service(self, job: JobRun, service: Service) -> Iterator[LocalService]:
        with self.serve(job, service.variables) as server:
            yield LocalService("127.0.0.1", port_of(server), 8000)

    def start_container(self, job: JobRun) -> None:
        """`docker run ... app:dast` then `alembic upgrade head`: migrate and serve locally."""
        variables = {
            "DATABASE_URL": "sqlite+aiosqlite:////tmp/app.db",
            "LOG_FORMAT": "json",
        }
        server = job.stack.enter_context(self.serve(job, variables))
        job.register(DAST_CONTAINER, LocalService("127.0.0.1", port_of(server), 8000))


def machine_locals(
    source: Path,
    *,
    env: Mapping[str, str],
    answers: Mapping[str, str],
    sha: str,
    version: str,
    helm_python: Path,
) -> Locals:
    app = App(source, env, answers)
    helm = Helm(helm_python)
    repository = f"{answers['github_owner']}/{answers['project_slug']}"
    base_env = {
        "PATH": env["PATH"],
        "HOME": str(Path.home()),
        "LANG": "C.UTF-8",
        "UV_PYTHON": env["UV_PYTHON"],
        "VIRTUAL_ENV": "",
        "CI": "true",
        **{key: os.environ[key] for key in NETWORK if key in os.environ},
    }
    substitutes = {
        (".gitlab-ci.yml", "*", line): Substitute(reason, shell)
        for line, (reason, shell) in GITLAB_LINES.items()
    }
    substitutes[("security.yml", "dast", "Build the image")] = Substitute(
        "docker build pulls its base images from registries: the project installed by "
        "`make install` stands in for the image"
    )
    substitutes[
        ("security.yml", "dast", "Start the container (read-only root, SQLite in /tmp) and migrate")
    ] = Substitute(
        "no container here: the installed project is migrated and served on a free port",
        action=app.start_container,
    )
    substitutes[("security.yml", "dast", "Container logs")] = Substitute(
        "no container: the served app's log is the job's app.log"
    )
    return Locals(
        base_env=base_env,
        checkout=clone(source),
        actions={
            "actions/checkout": checkout_action,
            "astral-sh/setup-uv": setup_uv,
            "actions/upload-artifact": upload_artifact,
            "azure/setup-helm": helm.action,
        },
        services=[
            ("postgres:*", 5432, postgres),
            (f"{REGISTRY}/{repository}/dast:*", 8000, app.service),
        ],
        images=[("python:*-slim", python_image), ("alpine/k8s:*", helm.image)],
        substitutes=substitutes,
        github={
            "event_name": "pull_request",
            "base_ref": BRANCH,
            "head_ref": "feature",
            "ref": "refs/pull/1/merge",
            "sha": sha,
            "repository": repository,
            "repository_owner": answers["github_owner"],
            "actor": "pipeline-test",
            "server_url": "https://github.com",
            "token": None,  # no token here: what needs one (online audits, API calls) is off
        },
        needs={
            "release-please": {"created": "true", "tag": f"v{version}", "version": version},
        },
        gitlab={
            "CI": "true",
            "GITLAB_CI": "true",
            "CI_PIPELINE_SOURCE": "merge_request_event",
            "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": BRANCH,
            "CI_DEFAULT_BRANCH": BRANCH,
            "CI_COMMIT_SHA": sha,
            "CI_COMMIT_REF_NAME": "feature",
            "CI_REGISTRY": REGISTRY,
            "CI_REGISTRY_IMAGE": f"{REGISTRY}/{repository}",
            "CI_PROJECT_URL": f"https://gitlab.example.com/{repository}",
            "CI_SERVER_URL": "https://gitlab.example.com",
            "CI_PROJECT_ID": "1",
            "CI_JOB_ID": "1",
        },
    )
