"""The event outbox's alerts for scripts/slo: rules, promtool tests and runbooks.

The worker exports `outbox_events{status}` and `outbox_oldest_pending_age_seconds` (see
events/metrics.py). Dead events need a person (they will never be published on their own); a
stale backlog means the relay stopped delivering, so consumers act on old news.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEAD_ALERT, STALE_ALERT = "OutboxDeadEvents", "OutboxBacklogStale"
DEAD_MATCHER = 'status="dead"'
SLUGS = {DEAD_ALERT: "outbox-dead-events", STALE_ALERT: "outbox-backlog-stale"}
DEAD_RUNBOOK = (
    "## What fired\n\n"
    "The worker's relay gave up on at least one event: OUTBOX_MAX_ATTEMPTS publishes\n"
    "failed, or its payload no longer parses. The row stays in `outbox_events` with\n"
    "`status = 'dead'` and `last_error`; a copy went to the `<prefix>.dead-letter` queue.\n\n"
    "## Look\n\n"
    "- `SELECT id, event_type, attempts, last_error FROM outbox_events "
    "WHERE status = 'dead' ORDER BY id;`\n"
    "- The worker's log lines `event moved to the dead-letter queue` (with `event_id`).\n\n"
    "## Act\n\n"
    "1. Fix the cause (broker permissions, a schema change, a bad payload).\n"
    "2. Re-queue: `UPDATE outbox_events SET status = 'pending', attempts = 0, "
    "available_at = now() WHERE status = 'dead' AND id IN (...);` "
    "(consumers dedupe on `event_id`).\n"
    "3. An event that can never be valid: record why, then delete its row.\n"
)
Matchers = Callable[[str], str]  # extra matcher -> the selector's labels and it, in braces


def series(name: str, labels: dict[str, str]) -> str:
    """A series literal for promtool, e.g. outbox_events with service and status labels."""
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


@dataclass(frozen=True)
class OutboxAlerts:
    """slo.yaml's `outbox` section: how long dead events and a stale backlog are tolerated."""

    dead_for: str
    stale_after_seconds: int
    stale_for: str
    runbook_url: str

    @classmethod
    def load(cls, raw: dict[str, Any], runbook_url: str) -> OutboxAlerts:
        """Read the section; the runbook links share the SLO alerts' base URL."""
        return cls(
            dead_for=str(raw["dead_for"]),
            stale_after_seconds=int(raw["stale_after_seconds"]),
            stale_for=str(raw["stale_for"]),
            runbook_url=runbook_url,
        )

    def annotations(self, service: str, alert: str) -> dict[str, str]:
        """Summary, description and runbook link of one alert (plain text: no templating)."""
        if alert == DEAD_ALERT:
            summary = f"{service} has outbox events it gave up publishing."
            description = (
                f'outbox_events with status="dead" has been above 0 for {self.dead_for}: those '
                "events reach no consumer until someone re-queues them."
            )
        else:
            limit = self.stale_after_seconds
            summary = f"{service}'s oldest pending outbox event is over {limit} s old."
            description = (
                f"outbox_oldest_pending_age_seconds has exceeded {self.stale_after_seconds} for "
                f"{self.stale_for}: the worker is not delivering events."
            )
        return {
            "summary": summary,
            "description": description,
            "runbook_url": f"{self.runbook_url}/{SLUGS[alert]}.md",
        }

    def group(self, service: str, matchers: Matchers, by: str) -> dict[str, Any]:
        """The rule group: one alert per condition, `for` long enough to ride out a scrape."""
        dead = f"max by ({by}) (outbox_events{matchers(DEAD_MATCHER)}) > 0"
        stale = (
            f"max by ({by}) (outbox_oldest_pending_age_seconds{matchers('')})"
            f" > {self.stale_after_seconds}"
        )
        rules = [
            (DEAD_ALERT, dead, self.dead_for, "ticket"),
            (STALE_ALERT, stale, self.stale_for, "page"),
        ]
        return {
            "name": f"{service}-outbox",
            "rules": [
                {
                    "alert": alert,
                    "expr": expr,
                    "for": wait,
                    "labels": {"severity": severity},
                    "annotations": self.annotations(service, alert),
                }
                for alert, expr, wait, severity in rules
            ],
        }

    def rule_tests(self, service: str, selector: dict[str, str]) -> dict[str, Any]:
        """Each alert fires after its `for` and not before; values just under never fire."""
        dead = series("outbox_events", selector | {"status": "dead"})
        pending = series("outbox_events", selector | {"status": "pending"})
        age = series("outbox_oldest_pending_age_seconds", selector)

        def case(alert: str, minute: int, severity: str | None) -> dict[str, Any]:
            expected = [
                {
                    "exp_labels": dict(selector) | {"severity": severity},
                    "exp_annotations": self.annotations(service, alert),
                }
            ]
            return {
                "eval_time": f"{minute}m",
                "alertname": alert,
                "exp_alerts": expected if severity else [],
            }

        limit = self.stale_after_seconds
        wait = _minutes(self.stale_for)
        dead_wait = _minutes(self.dead_for)
        # The age grows a minute per minute from 0 at minute 10: above the limit from then on.
        crosses = 10 + limit // 60 + 1
        return {
            "rule_files": [f"../../helm/{service}/files/rules.yaml"],  # from tests/
            "evaluation_interval": "1m",
            "tests": [
                {
                    "name": f"{DEAD_ALERT} fires once dead events stay for {self.dead_for}",
                    "interval": "1m",
                    "input_series": [
                        {"series": dead, "values": "0x9 1x60"},
                        {"series": pending, "values": "500x70"},
                    ],
                    "alert_rule_test": [
                        case(DEAD_ALERT, 9, None),
                        case(DEAD_ALERT, 10 + dead_wait - 1, None),
                        case(DEAD_ALERT, 10 + dead_wait + 1, "ticket"),
                    ],
                },
                {
                    "name": f"{STALE_ALERT} fires once the oldest pending event is over {limit} s",
                    "interval": "1m",
                    "input_series": [{"series": age, "values": "0x9 0+60x60"}],
                    "alert_rule_test": [
                        case(STALE_ALERT, crosses + wait - 1, None),
                        case(STALE_ALERT, crosses + wait + 1, "page"),
                    ],
                },
                {
                    "name": f"{STALE_ALERT} silent while the backlog stays just under {limit} s",
                    "interval": "1m",
                    "input_series": [
                        {"series": age, "values": f"{limit - 1}x60"},
                        {"series": dead, "values": "0x60"},
                    ],
                    "alert_rule_test": [case(STALE_ALERT, 60, None), case(DEAD_ALERT, 60, None)],
                },
            ],
        }

    def runbooks(self, service: str) -> dict[str, str]:
        """Slug -> Markdown: what the alert means and the first steps."""
        dead = (
            f"# {DEAD_ALERT}\n\n"
            f"**Severity:** ticket. {self.annotations(service, DEAD_ALERT)['description']}\n\n"
            + DEAD_RUNBOOK
        )
        stale = (
            f"# {STALE_ALERT}\n\n"
            f"**Severity:** page. {self.annotations(service, STALE_ALERT)['description']}\n\n"
            "## What fired\n\n"
            "Events are written by the API but not published: consumers act on old news, and\n"
            "the outbox grows. The API itself keeps working.\n\n"
            "## Look\n\n"
            "- Is the worker running and ready (`/readyz` on its health port)?\n"
            "- Its logs: `broker unavailable` (broker down), `outbox unavailable` (database),\n"
            "  `event publish failed, will retry` (the broker refuses events).\n"
            '- `outbox_events` with `status="pending"`: growing means delivery stopped.\n\n'
            "## Act\n\n"
            "1. Restore the broker or the database connection; the relay resumes by itself.\n"
            "2. A stuck worker: restart it (no event is lost; some may be published twice).\n"
            "3. Throughput: more worker replicas share the outbox safely (row locks).\n"
        )
        return {SLUGS[DEAD_ALERT]: dead, SLUGS[STALE_ALERT]: stale}


def _minutes(duration: str) -> int:
    """`5m` -> 5; the outbox section uses minutes only."""
    if not duration.endswith("m") or not duration[:-1].isdigit():
        raise ValueError(f"outbox durations are whole minutes like 5m, not {duration!r}")
    return int(duration[:-1])
