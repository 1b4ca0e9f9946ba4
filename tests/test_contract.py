"""v1's sunset: the generated default is never in the past, and a bad answer stops generation."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import Render
from tests.test_hooks import generate

SETTINGS = "src/orders_service/settings.py"
DATE_FIELD = r"{}: date = date\.fromisoformat\(\"(\d{{4}}-\d{{2}}-\d{{2}})\"\)"


def rendered_date(project: Path, name: str) -> date:
    settings = (project / SETTINGS).read_text()
    found = re.search(DATE_FIELD.format(name), settings)
    assert found, f"{name} is not a literal ISO date in {SETTINGS}"
    return date.fromisoformat(found.group(1))


def test_default_sunset_is_a_year_after_generation(render: Render) -> None:
    before = datetime.now(UTC).date()
    project = render()
    after = datetime.now(UTC).date()
    sunset = rendered_date(project, "api_v1_sunset_on")
    deprecated = rendered_date(project, "api_v1_deprecated_on")
    assert before <= deprecated <= after, deprecated
    assert before + timedelta(days=365) <= sunset <= after + timedelta(days=365), sunset
    assert sunset > after


def test_an_answered_sunset_is_rendered(render: Render) -> None:
    wanted = datetime.now(UTC).date() + timedelta(days=30)
    project = render(api_v1_sunset_on=wanted.isoformat())
    assert rendered_date(project, "api_v1_sunset_on") == wanted


@pytest.mark.parametrize(
    "value",
    ["2027-13-01", "next year", "", "01/06/2030", "2020-01-01", "today"],
)
def test_a_bad_or_past_sunset_stops_generation(tmp_path: Path, value: str) -> None:
    if value == "today":
        value = datetime.now(UTC).date().isoformat()
    proc = generate(tmp_path, {"api_v1_sunset_on": value})
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: api_v1_sunset_on={value!r} is invalid: "
        "must be a date (YYYY-MM-DD) after the generation date"
    ], proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []
