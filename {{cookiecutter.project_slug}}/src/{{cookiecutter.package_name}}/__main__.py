"""`python -m {{ cookiecutter.package_name }}`: serve the app with uvicorn (uvloop, httptools).

Granian 2.8 (uvloop, one worker) was measured against it with `make bench`'s setup: about 5%
more req/s on `/livez`, the same on item reads (3.1k req/s cache hits for both), so the
service keeps one server, the one its shutdown and proxy-header handling are tested with.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Any, NoReturn

import uvicorn

from {{ cookiecutter.package_name }}.idempotency import purge
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.startup import settings_or_exit


def exit_cleanly(_signum: int, _frame: FrameType | None) -> NoReturn:
    """SIGTERM outside uvicorn's own handling: before it starts, and the re-raise after it drained.

    uvicorn re-raises the signal once in-flight requests are done, so the exit status would say
    "killed"; a drained shutdown is a clean exit for Kubernetes, so exit 0 instead.
    """
    raise SystemExit(0)


def server_options(settings: Settings) -> dict[str, Any]:
    """The server settings; `make bench` serves its baselines with these same ones."""
    return {
        "host": settings.host,
        "port": settings.port,
        "workers": settings.web_concurrency,
        "loop": "uvloop",
        "http": "httptools",
        "lifespan": "on",
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "proxy_headers": True,
        # The proxies whose X-Forwarded-For names the client: the rate limiter's (TRUSTED_PROXIES).
        "forwarded_allow_ips": [str(network) for network in settings.trusted_proxies],
        "timeout_graceful_shutdown": settings.graceful_timeout,
    }


def main() -> None:
    """Run the server; on SIGTERM uvicorn stops accepting, drains in-flight requests, exits 0.

    `purge-idempotency-keys` runs that command instead (the chart's CronJob).
    """
    if sys.argv[1:2] == [purge.COMMAND]:
        purge.main()
        return
    signal.signal(signal.SIGTERM, exit_cleanly)
    uvicorn.run(
        "{{ cookiecutter.package_name }}.app:create_app",
        factory=True,
        **server_options(settings_or_exit()),
    )


if __name__ == "__main__":
    main()
