from __future__ import annotations

from typing import Any

import pytest
import uvicorn

from {{ cookiecutter.package_name }} import __main__ as entrypoint
from {{ cookiecutter.package_name }}.settings import get_settings


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
