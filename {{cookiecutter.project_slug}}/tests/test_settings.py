from __future__ import annotations

import pytest
from pydantic import ValidationError

from {{ cookiecutter.package_name }}.settings import Settings, get_settings

PG = "postgresql://u:p@db/app"
IDP = {"oidc_issuer": "https://idp.example.com/realms/platform", "oidc_audience": "orders"}


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
        (
            {"environment": "production", "database_url": PG, "cursor_secret": "x" * 32},
            "ENVIRONMENT=production needs OIDC_ISSUER and OIDC_AUDIENCE",
        ),
        ({"environment": "staging"}, "only ENVIRONMENT=local runs without"),
        ({"environment": "test"}, "only ENVIRONMENT=local runs without"),
        ({"oidc_issuer": "https://idp.example.com"}, "OIDC_ISSUER needs OIDC_AUDIENCE"),
        ({"oidc_issuer": "idp.example.com", "oidc_audience": "a"}, "must be an https:// URL"),
        (
            {
                **IDP,
                "oidc_issuer": "http://idp",
                "environment": "production",
                "database_url": PG,
                "cursor_secret": "x" * 32,
            },
            "needs an https:// OIDC_ISSUER",
        ),
        ({**IDP, "oidc_algorithms": ["RS256", "HS256"]}, "not \\['HS256'\\]"),
        ({**IDP, "oidc_algorithms": ["none"]}, "not \\['none'\\]"),
        ({**IDP, "oidc_algorithms": []}, "OIDC_ALGORITHMS may hold only"),
    ],
)
def test_invalid_settings_fail_at_start_up(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make(**values)


def test_production_runs_with_a_secret_of_its_own() -> None:
    settings = make(environment="production", database_url=PG, cursor_secret="x" * 32, **IDP)
    assert settings.environment == "production"
    assert not settings.docs_on  # DOCS_ENABLED unset: no /docs in production
    assert make(
        **IDP, environment="production", database_url=PG, cursor_secret="x" * 32, docs_enabled=True
    ).docs_on


def test_only_local_runs_without_authentication() -> None:
    assert not make().authentication_on
    assert make(**IDP).authentication_on


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9000")
    get_settings.cache_clear()
    try:
        assert get_settings().port == 9000
    finally:
        get_settings.cache_clear()
