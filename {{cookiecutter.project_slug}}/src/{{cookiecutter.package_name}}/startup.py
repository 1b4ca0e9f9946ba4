"""Settings errors at start-up as one line per setting: an operator reads them, not a traceback."""

from __future__ import annotations

import sys

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import SettingsError

from {{ cookiecutter.package_name }}.settings import Settings, get_settings

EXIT_BAD_SETTINGS = 2  # a usage error: the process was started wrongly, it did not crash


def describe(error: ErrorDetails) -> str:
    """`invalid setting PORT: Input should be ...`; rules across settings have no field."""
    message = error["msg"].removeprefix("Value error, ")
    if not error["loc"]:
        return f"invalid settings: {message}"
    return f"invalid setting {str(error['loc'][0]).upper()}: {message}"


def settings_or_exit() -> Settings:
    """The process-wide settings, or exit 2 with one line per invalid setting on stderr."""
    try:
        return get_settings()
    except ValidationError as exc:
        lines = [describe(error) for error in exc.errors()]
    except SettingsError as exc:  # a value that is not even parseable, e.g. non-JSON list
        lines = [f"invalid settings: {exc}"]
    sys.stderr.write("".join(f"{line}\n" for line in lines))
    raise SystemExit(EXIT_BAD_SETTINGS)
