"""Recording rules (error ratio per window, budget left) and the burn-rate alerts."""

from __future__ import annotations

from typing import Any

from scripts.slo.spec import Alert, Objective, Spec, number, sentence


def sli_error_ratio(spec: Spec, objective: Objective, window: str) -> str:
    """1 - good/all over `window`; good is a non-5xx status or a duration within threshold."""
    total = f"{spec.metric}_count{spec.matchers()}"
    if objective.bad_status is not None:
        good_status = f'http_response_status_code!~"{objective.bad_status}"'
        good = f"{spec.metric}_count{spec.matchers(good_status)}"
    else:
        le = number(objective.threshold_seconds or 0)
        within = f'le="{le}"'
        good = f"{spec.metric}_bucket{spec.matchers(within)}"
    by = spec.group_by()
    return (
        f"1 - (\n  sum by ({by}) (rate({good}[{window}]))\n  /\n"
        f"  sum by ({by}) (rate({total}[{window}]))\n)"
    )


def ratio_series(spec: Spec, objective: Objective, window: str) -> str:
    """The recorded error ratio of one objective and window, selected by the scrape labels."""
    slo = f'slo="{objective.name}"'
    return f"slo:sli_error:ratio_rate{window}{spec.matchers(slo)}"


def rules(spec: Spec) -> dict[str, Any]:
    """Per objective, one group: error ratio per window, budget left, then the alerts.

    One group, because rules in a group run in order on the same evaluation: the alerts read
    this evaluation's ratios, never a stale one (groups run independently of each other).
    """
    groups: list[dict[str, Any]] = []
    for objective in spec.objectives:
        slo = {"slo": objective.name}
        group: list[dict[str, Any]] = [
            {
                "record": f"slo:sli_error:ratio_rate{window}",
                "expr": sli_error_ratio(spec, objective, window),
                "labels": dict(slo),
            }
            for window in spec.windows()
        ]
        group.append(
            {
                "record": "slo:error_budget:remaining_ratio",
                "expr": f"1 - {ratio_series(spec, objective, spec.window)}"
                f" / {number(objective.budget)}",
                "labels": dict(slo),
            }
        )
        group.extend(
            {
                "alert": alert.name,
                "expr": (
                    f"{ratio_series(spec, objective, alert.long)} > {alert.threshold}\n"
                    f"and\n{ratio_series(spec, objective, alert.short)} > {alert.threshold}"
                ),
                "labels": {"severity": alert.severity},
                "annotations": alert_annotations(spec, alert),
            }
            for alert in spec.alerts
            if alert.objective == objective
        )
        groups.append({"name": f"{spec.service}-slo-{objective.name}", "rules": group})
    if spec.outbox is not None:
        groups.append(spec.outbox.group(spec.service, spec.matchers, spec.group_by()))
    return {"groups": groups}


def alert_annotations(spec: Spec, alert: Alert) -> dict[str, str]:
    """Summary, description and runbook link of one alert (plain text: no templating)."""
    objective = alert.objective
    return {
        "summary": (
            f"{spec.service} burns its {objective.name} error budget at over "
            f"{number(alert.rate)}x ({alert.long} and {alert.short} windows)."
        ),
        "description": (
            f"SLO: {number(objective.target * 100)}% of {sentence(objective.description)} over "
            f"{spec.window}: the error ratio exceeds {alert.threshold} in both the {alert.long} "
            f"and {alert.short} windows."
        ),
        "runbook_url": f"{spec.runbook_url}/{alert.slug}.md",
    }
