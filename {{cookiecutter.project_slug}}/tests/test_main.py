from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from {{ cookiecutter.package_name }} import __main__ as entrypoint
from {{ cookiecutter.package_name }}.settings import get_settings


@pytest.fixture(autouse=True)
def _restore_sigterm() -> Iterator[None]:
    """main() installs a process-wide handler; give pytest its own back."""
    previous = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_main_serves_the_factory_with_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real server is started by the template's runtime tests; here only the wiring."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    monkeypatch.setenv("PORT", "8123")
    get_settings.cache_clear()
    try:
        entrypoint.main()
    finally:
        get_settings.cache_clear()
    (call,) = calls
    assert call["app"] == "{{ cookiecutter.package_name }}.app:create_app"
    assert call["factory"] is True
    assert call["port"] == 8123
    assert call["server_header"] is False


def test_sigterm_outside_uvicorn_exits_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uvicorn, "run", lambda *_a, **_kw: None)
    entrypoint.main()
    assert signal.getsignal(signal.SIGTERM) is entrypoint.exit_cleanly
    with pytest.raises(SystemExit) as exit_info:
        entrypoint.exit_cleanly(signal.SIGTERM, None)
    assert exit_info.value.code == 0


def test_uvicorn_writes_no_access_line_of_its_own() -> None:
    """uvicorn logs access lines when `uvicorn.access` has handlers: the middleware writes them,
    so a second line per request through the stdlib path (half the throughput) must not exist."""
    from {{ cookiecutter.package_name }}.observability.logging import configure_logging  # noqa: PLC0415

    configure_logging("INFO", "json")
    assert not logging.getLogger("uvicorn.access").hasHandlers()
    assert entrypoint.server_options(get_settings())["access_log"] is False
