"""A real OpenID Provider on a free loopback port: ``oidc-provider`` on Node.js.

The provider program and its npm lockfile live in ``tests/oidc``; ``npm ci`` installs them once
per version of those files into the cache outside the checkout (a file lock keeps xdist workers
from installing twice). Node.js is the machine's when it is recent enough, else the pinned build
from PyPI (``tests/tools/node.txt``), so a fresh machine needs nothing installed by hand.

Tokens come from the client-credentials grant with a resource indicator, so they are RFC 9068
JWTs (``typ: at+jwt``) whose ``aud`` is the resource and whose ``scope`` is one space-separated
string.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.env import CACHE, TEMPLATE, free_port, run, tool_venv
from tests.support.server import stop_group

SOURCE = TEMPLATE / "tests" / "oidc"
FILES = ("package.json", "package-lock.json", "provider.mjs")
NODE_MINIMUM = (20, 19)  # oidc-provider 9 needs it (and recommends 22)

RESOURCE = "https://items.example.test"
OTHER_RESOURCE = "https://other.example.test"
SCOPES = "items:read items:write"
# client id -> allowed scopes; "expiring" gets one-second tokens, for expiry tests.
CLIENTS: Mapping[str, str] = {"writer": SCOPES, "reader": "items:read", "expiring": SCOPES}
SHORT_TTL = {"expiring": 1}


def secret(client: str) -> str:
    return f"{client}-secret"


def node_path() -> str:
    """A PATH whose ``node`` and ``npm`` are recent enough for oidc-provider."""
    node = shutil.which("node")
    if node and shutil.which("npm"):
        out = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
        version = tuple(int(part) for part in out.stdout.strip().lstrip("v").split(".")[:2])
        if version >= NODE_MINIMUM:
            return os.environ["PATH"]
    return os.pathsep.join([str(tool_venv("node")), os.environ["PATH"]])


def installed_provider(env: dict[str, str]) -> Path:
    """The folder holding provider.mjs and its node_modules, installed by ``npm ci`` once."""
    digest = hashlib.sha256(b"".join((SOURCE / f).read_bytes() for f in FILES)).hexdigest()[:12]
    target = CACHE / "oidc-provider" / digest
    done = target / ".complete"
    if done.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            for name in FILES:
                shutil.copy2(SOURCE / name, target / name)
            quiet = ["--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"]
            run(["npm", "ci", *quiet], cwd=target, env=env, timeout=300)
            done.touch()
    return target


@dataclass
class OpenIDProvider:
    """A running provider; ``rotate`` swaps its signing key, ``stop`` is an IdP outage."""

    issuer: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def discovery(self) -> dict[str, Any]:
        response = httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=5)
        response.raise_for_status()
        return dict(response.json())

    def jwks(self) -> dict[str, Any]:
        response = httpx.get(str(self.discovery()["jwks_uri"]), timeout=5)
        response.raise_for_status()
        return dict(response.json())

    def token_response(
        self, client: str, scope: str | None = None, resource: str | None = RESOURCE
    ) -> httpx.Response:
        """The token endpoint's answer to a client-credentials request, whatever it is."""
        form = {"grant_type": "client_credentials"}
        form |= {"scope": scope} if scope else {}
        form |= {"resource": resource} if resource else {}
        return httpx.post(
            f"{self.issuer}/token", data=form, auth=(client, secret(client)), timeout=10
        )

    def token(self, client: str, scope: str, resource: str = RESOURCE) -> str:
        """A JWT access token for ``resource`` (its ``aud``); fails with the provider's error."""
        response = self.token_response(client, scope, resource)
        if response.status_code != 200:
            pytest.fail(f"token for {client} ({scope}) refused: {response.text}", pytrace=False)
        return str(response.json()["access_token"])

    def rotate(self, *, retire: bool = False) -> str:
        """Sign with a new key from now on, same process and port; returns its ``kid``.

        The previous keys stay in the JWKS unless ``retire``; tokens they signed then carry a
        ``kid`` the provider no longer publishes.
        """
        url = f"{self.issuer}/-/rotate" + ("?retire=1" if retire else "")
        response = httpx.post(url, timeout=30)
        response.raise_for_status()
        return str(response.json()["kid"])

    def requests(self) -> dict[str, int]:
        """How many requests each path of the provider has had (its test routes excepted)."""
        response = httpx.get(f"{self.issuer}/-/requests", timeout=5)
        response.raise_for_status()
        return {str(path): int(count) for path, count in response.json().items()}

    def jwks_fetches(self) -> int:
        """Requests to the JWKS document so far, whoever made them."""
        path = urlsplit(str(self.discovery()["jwks_uri"])).path
        return self.requests().get(path, 0)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM the provider and wait: its port refuses connections afterwards."""
        stop_group(self.process, timeout)


@contextmanager
def openid_provider(
    log_dir: Path, *, ttl: int = 300, alg: str = "RS256", ready_timeout: float = 30
) -> Iterator[OpenIDProvider]:
    """Start a provider on a free port, wait for its discovery document; always stopped after."""
    env = {**os.environ, "PATH": node_path()}
    folder = installed_provider(env)
    port = free_port()
    config = {
        "port": port,
        "alg": alg,
        "ttl": ttl,
        "resources": {RESOURCE: SCOPES, OTHER_RESOURCE: SCOPES},
        "default_resource": RESOURCE,
        "clients": [
            {"client_id": c, "client_secret": secret(c), "scope": s, "ttl": SHORT_TTL.get(c)}
            for c, s in CLIENTS.items()
        ],
    }
    config_file = log_dir / f"oidc-{port}.json"
    config_file.write_text(json.dumps(config))
    log = log_dir / f"oidc-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            ["node", str(folder / "provider.mjs"), str(config_file)],
            cwd=folder,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    provider = OpenIDProvider(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_discovery(provider, ready_timeout)
        yield provider
    finally:
        provider.stop()


def wait_discovery(provider: OpenIDProvider, timeout: float) -> None:
    """Poll the discovery document until it answers; fails with the log on exit or timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if provider.process.poll() is not None:
            pytest.fail(f"oidc-provider exited:\n{provider.log_text()[-3000:]}", pytrace=False)
        try:
            provider.discovery()
            return
        except httpx.TransportError:
            time.sleep(0.05)
    pytest.fail(f"oidc-provider not ready in {timeout:.0f} s:\n{provider.log_text()[-3000:]}")
