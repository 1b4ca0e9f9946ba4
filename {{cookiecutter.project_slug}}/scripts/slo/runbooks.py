"""One runbook page per burn-rate alert: what fired, where to look, what to do."""

from __future__ import annotations

from scripts.slo.spec import Alert, Spec, minutes, number, sentence
from scripts.slo.yaml_out import HEADER


def runbook(spec: Spec, alert: Alert) -> str:
    """What the alert means and the first steps, one page per alert."""
    objective = alert.objective
    urgency = (
        "Page: at this rate the whole budget is gone in "
        if alert.severity == "page"
        else "Ticket: no need to wake anyone, but the budget is gone in "
    )
    days = minutes(spec.window) / 1440 / alert.rate
    if objective.bad_status is not None:
        bad = spec.matchers(f'http_response_status_code=~"{objective.bad_status}"')
        look = (
            "- Which routes fail: `sum by (http_route, http_response_status_code) "
            f"(rate({spec.metric}_count{bad}[5m]))`\n"
            "- The failing requests' log lines (`level` error) lead by `trace_id` to the trace.\n"
        )
    else:
        look = (
            "- Which routes are slow: `histogram_quantile(0.99, sum by (le, http_route) "
            f"(rate({spec.metric}_bucket{spec.matchers()}[5m])))`\n"
            "- The slow requests' traces: the database and cache spans show where time goes.\n"
        )
    return (
        f"<!-- {HEADER.strip().removeprefix('# ')} -->\n"
        f"# {alert.name}\n\n"
        f"**Severity:** {alert.severity}. **SLO:** {number(objective.target * 100)}% of requests "
        f"{sentence(objective.description).removeprefix('requests ')} over "
        f"{spec.window} (error budget {number(objective.budget * 100)}%).\n\n"
        f"## What fired\n\n"
        f"{spec.service} has been spending its {objective.name} error budget at more than "
        f"{number(alert.rate)} times the sustainable rate over the last {alert.long}, and still "
        f"is over the last {alert.short} (error ratio above {alert.threshold} in both). "
        f"{urgency}{number(round(days, 2))} days.\n\n"
        f"## Look\n\n"
        f"- Dashboard `{spec.dashboard_uid}`: the burn-rate and error-budget panels.\n"
        f"{look}"
        "- What changed: the last deploy (`kubectl rollout history`), config, dependencies.\n\n"
        "## Act\n\n"
        "1. A deploy in the window: roll it back first, investigate after.\n"
        "2. A dependency (database, cache, broker) is failing: follow its runbook; `/readyz` "
        "says which.\n"
        "3. Overload: scale out (HPA limits) and check the in-flight requests panel.\n"
        "4. Record what happened in the incident; the alert resolves once the short window "
        "recovers.\n"
    )
