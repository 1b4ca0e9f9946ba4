"""The Grafana dashboard: RED panels, then burn rate and budget left per objective."""

from __future__ import annotations

from typing import Any

from scripts.slo.rules import ratio_series
from scripts.slo.spec import Spec, minutes, number

SERVER_ERROR = 'http_response_status_code=~"5.."'


def panel(
    panel_id: int, title: str, exprs: list[str], unit: str, grid: tuple[int, int, int, int]
) -> dict[str, Any]:
    """One Grafana time-series panel on the provisioned Prometheus data source."""
    x, y, w, h = grid
    source = {"type": "prometheus", "uid": "prometheus"}
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "datasource": source,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": source, "expr": e, "legendFormat": "__auto"}
            for i, e in enumerate(exprs)
        ],
    }


def dashboard(spec: Spec) -> dict[str, Any]:
    """RED panels from the raw series, then burn rate and budget left per objective."""
    count = f"{spec.metric}_count{spec.matchers()}"
    errors = f"{spec.metric}_count{spec.matchers(SERVER_ERROR)}"
    bucket = f"{spec.metric}_bucket{spec.matchers()}"
    panels = [
        panel(
            1,
            "Requests per second by route",
            [f"sum by (http_route) (rate({count}[5m]))"],
            "reqps",
            (0, 0, 12, 8),
        ),
        panel(
            2,
            "Errors: share of 5xx",
            [f"sum(rate({errors}[5m])) / sum(rate({count}[5m]))"],
            "percentunit",
            (12, 0, 12, 8),
        ),
        panel(
            3,
            "Duration p50 / p99 by route",
            [
                f"histogram_quantile({q}, sum by (le, http_route) (rate({bucket}[5m])))"
                for q in ("0.5", "0.99")
            ],
            "s",
            (0, 8, 12, 8),
        ),
        panel(
            4,
            "In-flight requests and items created",
            [
                f"sum(http_server_active_requests{spec.matchers()})",
                f"sum(rate(items_created_total{spec.matchers()}[5m]))",
            ],
            "short",
            (12, 8, 12, 8),
        ),
    ]
    for i, objective in enumerate(spec.objectives):
        y = 16 + 8 * i
        burn = [
            f"{ratio_series(spec, objective, w)} / {number(objective.budget)}"
            for w in sorted({a.long for a in spec.alerts}, key=minutes)
        ]
        panels.append(
            panel(
                5 + 2 * i, f"{objective.name}: error budget burn rate", burn, "short", (0, y, 12, 8)
            )
        )
        slo = f'slo="{objective.name}"'
        left = f"slo:error_budget:remaining_ratio{spec.matchers(slo)}"
        panels.append(
            panel(
                6 + 2 * i,
                f"{objective.name}: error budget left ({spec.window})",
                [left],
                "percentunit",
                (12, y, 12, 8),
            )
        )
    return {
        "uid": spec.dashboard_uid,
        "title": f"{spec.service} SLOs",
        "tags": [spec.service, "slo"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "1m",
        "time": {"from": "now-24h", "to": "now"},
        "panels": panels,
    }
