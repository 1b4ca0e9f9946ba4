"""The parsed slo.yaml (objectives, their window-pair alerts) and the number formats."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from scripts.slo.outbox import OutboxAlerts

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "deploy/observability/slo.yaml"
UNITS = {"m": 1, "h": 60, "d": 1440}


def minutes(duration: str) -> int:
    """Prometheus duration (5m, 1h, 3d) in minutes."""
    match = re.fullmatch(r"(\d+)([mhd])", duration)
    if match is None:
        raise ValueError(f"unsupported duration {duration!r}; use <n>m, <n>h or <n>d")
    return int(match[1]) * UNITS[match[2]]


def number(value: float) -> str:
    """Shortest plain decimal (no exponent), so thresholds read as written."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def sentence(text: str) -> str:
    """A description for use inside a sentence: lower-case start, no final period."""
    return text[:1].lower() + text[1:].rstrip(".")


@dataclass(frozen=True)
class Alert:
    """One window pair of one objective; fires when both windows burn faster than `rate`."""

    objective: Objective
    long: str
    short: str
    rate: float
    severity: str

    @property
    def name(self) -> str:
        """E.g. AvailabilityBudgetBurn1h."""
        return f"{self.objective.name.capitalize()}BudgetBurn{self.long}"

    @property
    def slug(self) -> str:
        """Runbook file name, e.g. availability-budget-burn-1h."""
        return f"{self.objective.name}-budget-burn-{self.long}"

    @property
    def threshold(self) -> str:
        """Error ratio at this burn rate: rate x error budget."""
        return number(self.rate * self.objective.budget)


@dataclass(frozen=True)
class Objective:
    """An SLI (good events / all requests) and its target over the SLO window."""

    name: str
    description: str
    target: float
    bad_status: str | None
    threshold_seconds: float | None

    @property
    def budget(self) -> float:
        """Allowed share of bad requests."""
        return round(1 - self.target, 10)


@dataclass(frozen=True)
class Spec:
    """The parsed slo.yaml."""

    service: str
    selector: dict[str, str]
    window: str
    runbook_url: str
    dashboard_uid: str
    metric: str
    objectives: list[Objective]
    alerts: list[Alert]
    outbox: OutboxAlerts | None = None

    @classmethod
    def load(cls, path: Path) -> Spec:
        """Read and validate slo.yaml."""
        raw: dict[str, Any] = yaml.safe_load(path.read_text())
        objectives = [
            Objective(
                name=o["name"],
                description=o["description"],
                target=float(o["target"]),
                bad_status=o.get("bad_status"),
                threshold_seconds=o.get("threshold_seconds"),
            )
            for o in raw["objectives"]
        ]
        for objective in objectives:
            if (objective.bad_status is None) == (objective.threshold_seconds is None):
                raise ValueError(f"{objective.name}: set bad_status or threshold_seconds")
        alerts = [
            Alert(o, a["long"], a["short"], float(a["burn_rate"]), a["severity"])
            for o in objectives
            for a in raw["alerts"]
        ]
        return cls(
            service=raw["service"],
            selector={str(k): str(v) for k, v in raw["selector"].items()},
            window=raw["window"],
            runbook_url=raw["runbook_url"].rstrip("/"),
            dashboard_uid=raw["dashboard_uid"],
            metric=raw["metric"],
            objectives=objectives,
            alerts=alerts,
            outbox=(
                OutboxAlerts.load(raw["outbox"], raw["runbook_url"].rstrip("/"))
                if "outbox" in raw
                else None
            ),
        )

    def windows(self) -> list[str]:
        """Every rate window the alerts and the dashboard need, shortest first."""
        used = {w for a in self.alerts for w in (a.long, a.short)} | {self.window}
        return sorted(used, key=minutes)

    def matchers(self, extra: str = "") -> str:
        """Label matchers of the scrape selector, plus `extra`."""
        parts = [f'{k}="{v}"' for k, v in self.selector.items()]
        return "{" + ",".join([*parts, *([extra] if extra else [])]) + "}"

    def group_by(self) -> str:
        """Labels the recorded series keep."""
        return ", ".join(self.selector)
