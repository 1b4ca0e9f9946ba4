"""Server processes: start on a free port, pin to a core, read their CPU time, stop."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import uvicorn

from scripts.bench.model import Server

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 30.0


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> tuple[float, float] | None:
    """CPU time (user + system) of the threads that serve requests, and of the other threads.

    A server is one process, or with WEB_CONCURRENCY > 1 a supervisor and its workers: each
    process's main thread runs its event loop; the others export spans. psutil reads each
    thread's times (on Linux from /proc, in 10 ms ticks: fine over runs of seconds). Only on
    Linux is a main thread's id its process's id; None elsewhere.
    """
    if not psutil.LINUX:
        return None
    with contextlib.suppress(psutil.Error):
        main = other = 0.0
        server = psutil.Process(pid)
        for process in (server, *server.children(recursive=True)):
            for thread in process.threads():
                if thread.id == process.pid:
                    main += thread.user_time + thread.system_time
                else:
                    other += thread.user_time + thread.system_time
        return main, other
    return None


def pinned(argv: list[str], cpus: str) -> list[str]:
    """Prefix `taskset -c cpus` when cpus are given, there is more than one core, and taskset."""
    taskset = shutil.which("taskset")
    if not cpus or taskset is None or (os.cpu_count() or 1) < 2:  # noqa: PLR2004 - two cores
        return argv
    return [taskset, "-c", cpus, *argv]


def start(server: Server, cpus: str) -> None:
    """Start the server on a free port, logs to its file; return once /livez answers."""
    server.port = free_port()
    env = {**os.environ, **server.env, "HOST": "127.0.0.1", "PORT": str(server.port)}
    with server.log.open("wb") as log:
        server.process = subprocess.Popen(  # noqa: S603 - argv built here, no shell
            pinned(server.argv, cpus), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            sys.exit(f"{server.name} exited {server.process.returncode}: see {server.log}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{server.url}/livez", timeout=1).status_code == 200:  # noqa: PLR2004
                return
        time.sleep(0.1)
    sys.exit(f"{server.name} did not answer /livez within {READY_TIMEOUT:.0f} s")


def stop(server: Server) -> int | None:
    """SIGTERM, then the exit status (kill after 20 s)."""
    if server.process is None:
        return None
    server.process.send_signal(signal.SIGTERM)
    try:
        return server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        return server.process.wait()


def serve(target: str) -> None:
    """Serve a baseline app with exactly the service's uvicorn settings."""
    sys.path.insert(0, str(ROOT))
    from {{ cookiecutter.package_name }}.__main__ import exit_cleanly, server_options  # noqa: PLC0415
    from {{ cookiecutter.package_name }}.settings import Settings  # noqa: PLC0415

    signal.signal(signal.SIGTERM, exit_cleanly)  # a drained stop exits 0, as the service does
    uvicorn.run(target, **server_options(Settings()))
