"""A generated service as a real process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.env import free_port, run


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    ready_after: float = 0.0

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 15) -> int:
        return stop_group(self.process, timeout)


def stop_group(process: subprocess.Popen[bytes], timeout: float) -> int:
    """SIGTERM, as Kubernetes sends it; SIGKILL the group only if it does not exit in time."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    return process.returncode


@contextmanager
def serve(
    project: Path,
    env: Mapping[str, str],
    log_dir: Path,
    *,
    module: str = "orders_service",
    name: str = "server",
    migrate: bool = True,
    ready_timeout: float = 30,
) -> Iterator[Server]:
    """Migrate, start `python -m <module>`, wait for /readyz 200; always stopped afterwards.

    Output goes to a file, not a pipe, so a chatty server never blocks on a full pipe.
    """
    port = free_port()
    # The machine's own OTEL_* settings must not switch tracing on behind a test's back.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    full_env = {**inherited, **env, "HOST": "127.0.0.1", "PORT": str(port)}
    python = str(project / ".venv" / "bin" / "python")
    if migrate:
        run([python, "-m", "alembic", "upgrade", "head"], cwd=project, env=full_env, timeout=120)
    log = log_dir / f"{name}.log"
    with log.open("wb") as sink:
        started = time.perf_counter()
        process = subprocess.Popen(
            [python, "-m", module],
            cwd=project,
            env=full_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the whole group can be signalled
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        server.ready_after = wait_ready(server, started, ready_timeout)
        yield server
    finally:
        server.stop()


def wait_ready(server: Server, started: float, timeout: float) -> float:
    """Seconds from start to the first 200 on /readyz; fails with the log on exit or timeout."""
    with httpx.Client(base_url=server.url, timeout=1) as client:
        while time.perf_counter() - started < timeout:
            if server.process.poll() is not None:
                pytest.fail(
                    f"server exited {server.process.returncode}:\n{server.log_text()[-3000:]}"
                )
            try:
                if client.get("/readyz").status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    pytest.fail(f"server not ready within {timeout:.0f} s:\n{server.log_text()[-3000:]}")
