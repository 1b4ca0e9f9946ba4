"""`python -m {{ cookiecutter.package_name }}`: serve the app with uvicorn (uvloop, httptools)."""

from __future__ import annotations

import uvicorn

from {{ cookiecutter.package_name }}.settings import get_settings


def main() -> None:
    """Run the server; uvicorn handles SIGTERM by draining in-flight requests, then exits 0."""
    settings = get_settings()
    uvicorn.run(
        "{{ cookiecutter.package_name }}.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.web_concurrency,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=True,
        timeout_graceful_shutdown=settings.graceful_timeout,
    )


if __name__ == "__main__":
    main()
