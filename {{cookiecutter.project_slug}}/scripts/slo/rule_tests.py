"""Promtool unit tests proving each burn-rate alert fires above its rate and not below."""

from __future__ import annotations

from typing import Any

from scripts.slo.rules import alert_annotations
from scripts.slo.spec import Alert, Objective, Spec, minutes, number

REQUESTS_PER_MINUTE = 1000  # synthetic traffic of the rule tests


def counter(start: float, segments: list[tuple[float, int]]) -> str:
    """Counter values in promtool's expanding notation: (increase per step, steps) segments.

    Counters start well above zero, so `rate` extrapolates alike for every series.
    """
    parts = []
    value = start
    for index, (step, count) in enumerate(segments):
        first = f"{number(value)}+{number(step)}x{count}"
        parts.append(first if index == 0 else f"{number(value + step)}+{number(step)}x{count - 1}")
        value += step * count
    return " ".join(parts)


def input_series(
    spec: Spec, objective: Objective, step_minutes: int, phases: list[tuple[float, int]]
) -> list[dict[str, str]]:
    """Raw series for `phases` = [(share of bad requests, steps)] at constant traffic."""
    labels = dict(spec.selector) | {
        "http_request_method": "GET",
        "http_route": "/api/v2/items",
        "http_response_status_code": "200",
    }
    per_step = REQUESTS_PER_MINUTE * step_minutes
    good = [(per_step * (1 - bad), steps) for bad, steps in phases]
    bad = [(per_step * bad, steps) for bad, steps in phases]
    everything = [(float(per_step), steps) for _, steps in phases]

    def series(name: str, values: str, **extra: str) -> dict[str, str]:
        text = ",".join(f'{k}="{v}"' for k, v in (labels | extra).items())
        return {"series": f"{spec.metric}_{name}" + "{" + text + "}", "values": values}

    if objective.bad_status is not None:  # good and bad requests by status code
        return [
            series("count", counter(1_000_000, good)),
            series("count", counter(10_000, bad), http_response_status_code="500"),
        ]
    le = number(objective.threshold_seconds or 0)  # fast requests in the bucket, all in _count
    return [
        series("bucket", counter(1_000_000, good), le=le),
        series("count", counter(1_010_000, everything)),
    ]


def alert_case(
    alert: Alert, at_minutes: int, spec: Spec, *, firing: bool = False
) -> dict[str, Any]:
    """Expect `alert` firing (with its labels and annotations) or silent at a time."""
    expected: list[dict[str, Any]] = []
    if firing:
        labels = dict(spec.selector) | {"slo": alert.objective.name, "severity": alert.severity}
        expected.append({"exp_labels": labels, "exp_annotations": alert_annotations(spec, alert)})
    return {"eval_time": f"{at_minutes}m", "alertname": alert.name, "exp_alerts": expected}


def rule_tests(spec: Spec) -> dict[str, dict[str, Any]]:
    """Promtool tests per window pair, evaluated at a fifth of its short window.

    For each alert: healthy history filling the long window, then a burn 10% over the alert's
    rate fires within the long window (and not at 80% of it); a burn 5% under it never fires;
    normal traffic (half the budget) fires nothing.
    """
    files: dict[str, dict[str, Any]] = {}
    for long in sorted({a.long for a in spec.alerts}, key=minutes):
        pair = [a for a in spec.alerts if a.long == long]
        step = max(1, min(minutes(a.short) for a in pair) // 5)
        history = minutes(long) // step
        start = history * step
        tests: list[dict[str, Any]] = []
        for alert in pair:
            budget = alert.objective.budget
            for factor, fires in ((1.1, True), (0.95, False)):
                phases = [(0.0, history), (alert.rate * factor * budget, 2 * history)]
                tests.append(
                    {
                        "name": f"{alert.name} at {number(factor)}x its burn rate",
                        "interval": f"{step}m",
                        "input_series": input_series(spec, alert.objective, step, phases),
                        "alert_rule_test": [
                            alert_case(alert, start + minutes(long) * 8 // 10, spec),
                            alert_case(alert, start + minutes(long), spec, firing=fires),
                            alert_case(alert, start + 2 * minutes(long), spec, firing=fires),
                        ],
                    }
                )
            normal = [(budget / 2, 3 * history)]
            tests.append(
                {
                    "name": f"{alert.name} silent at normal traffic (half the budget)",
                    "interval": f"{step}m",
                    "input_series": input_series(spec, alert.objective, step, normal),
                    "alert_rule_test": [
                        alert_case(alert, at, spec)
                        for at in (minutes(long), 2 * minutes(long), 3 * minutes(long))
                    ],
                }
            )
        files[long] = {
            "rule_files": [f"../../helm/{spec.service}/files/rules.yaml"],  # from tests/
            "evaluation_interval": f"{step}m",
            "tests": tests,
        }
    return files
