from __future__ import annotations

import pytest
from pydantic import ValidationError

from {{ cookiecutter.package_name }}.settings import Settings, get_settings

PG = "postgresql://u:p@db/app"


def make(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_defaults_run_on_embedded_sqlite() -> None:
    settings = make()
    assert settings.is_sqlite
    assert "sqlite+aiosqlite" in settings.database_url.get_secret_value()


def test_plain_postgres_urls_use_the_async_driver() -> None:
    settings = make(database_url="postgresql://u:p@db:5432/app")
    assert settings.database_url.get_secret_value() == "postgresql+asyncpg://u:p@db:5432/app"
    assert not settings.is_sqlite


def test_secrets_stay_out_of_reprs() -> None:
    assert "p@db" not in repr(make(database_url="postgresql://u:p@db/app"))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"database_url": "mysql://db/app"}, "DATABASE_URL must use"),
        ({"environment": "production"}, "needs a PostgreSQL"),
        ({"port": 0}, "greater than or equal to 1"),
        ({"api_v1_sunset_on": "2020-01-01"}, "must come after"),
        ({"environment": "production", "database_url": PG}, "CURSOR_SECRET of its own"),
        (
            {"environment": "production", "database_url": PG, "cursor_secret": "short"},
            "CURSOR_SECRET of its own",
        ),
    ],
)
def test_invalid_settings_fail_at_start_up(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make(**values)


def test_production_runs_with_a_secret_of_its_own() -> None:
    settings = make(environment="production", database_url=PG, cursor_secret="x" * 32)
    assert settings.environment == "production"


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9000")
    get_settings.cache_clear()
    try:
        assert get_settings().port == 9000
    finally:
        get_settings.cache_clear()
