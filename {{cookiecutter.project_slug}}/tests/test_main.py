from __future__ import annotations

import importlib.util
import logging
import os
import signal
import subprocess
import sys
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


# Every process that reads settings at start-up; the worker exists unless messaging is "none".
ENTRY_POINTS = [
    module
    for module in ("{{ cookiecutter.package_name }}", "{{ cookiecutter.package_name }}.worker")
    if importlib.util.find_spec(module) is not None
]
BAD_SETTINGS = [
    ({"PORT": "abc"}, "invalid setting PORT: "),
    ({"ENVIRONMENT": "production"}, "needs a PostgreSQL DATABASE_URL"),
    ({"CORS_ORIGINS": "not-json"}, "CORS_ORIGINS"),
    (
        {
            "ENVIRONMENT": "production",
            "DATABASE_URL": "postgresql://db/app",
            "CURSOR_SECRET": "x" * 32,
        },
        "ENVIRONMENT=production needs OIDC_ISSUER and OIDC_AUDIENCE",
    ),
]


@pytest.fixture(scope="module")
def bad_starts(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], tuple[int, str]]:
    """Every entry point started with every bad setting, all at once: each process spends
    ~0.7 s importing before it reads its settings, 8 of them one after another ~6 s.

    (module, case) -> (exit status, stderr).
    """
    clean = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    cwd = tmp_path_factory.mktemp("bad-settings")  # no .env here
    started = {
        (module, case): subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", module],
            env={**clean, **env},
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for module in ENTRY_POINTS
        for case, (env, _) in enumerate(BAD_SETTINGS)
    }
    return {key: (proc.wait(60), proc.communicate()[1]) for key, proc in started.items()}


@pytest.mark.parametrize("module", ENTRY_POINTS)
@pytest.mark.parametrize(
    "case", range(len(BAD_SETTINGS)), ids=lambda i: str(BAD_SETTINGS[i][0])[:30]
)
def test_bad_setting_is_one_line_and_exit_2(
    bad_starts: dict[tuple[str, int], tuple[int, str]], module: str, case: int
) -> None:
    """An operator reads one line naming the setting, not a pydantic traceback."""
    status, stderr = bad_starts[module, case]
    assert status == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert BAD_SETTINGS[case][1].lower() in lines[0].lower()
