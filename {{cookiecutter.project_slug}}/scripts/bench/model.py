"""What is measured: the servers, one wrk run's figures, a scenario's runs per server."""

from __future__ import annotations

import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

# `--breakdown`: O less one instrument each, by name and the instrument the saving prices; a
# None drops the variable from O's environment. The SDK's own switch wins over any OTLP
# endpoint the caller's environment sets. Without an issuer (ENVIRONMENT=local) no token is
# checked: the saving is what validating one costs with the keys cached. Without RATE_LIMIT no
# caller is counted: the saving is the limiter's store round trip.
VARIANTS: dict[str, tuple[str, dict[str, str | None]]] = {
    "O-untraced": ("traces", {"OTEL_SDK_DISABLED": "true"}),
    "O-unlogged": ("access_log", {"LOG_LEVEL": "WARNING"}),  # the access line is at INFO
    "O-unauthenticated": ("authentication", {"OIDC_ISSUER": None, "OIDC_AUDIENCE": None}),
    "O-unlimited": ("rate_limit", {"RATE_LIMIT": None}),
}
SERVICES = ("O", *VARIANTS)  # every process that runs the service itself


@dataclass
class Server:
    """One server process under test."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL on loopback."""
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Run:
    """One wrk run's figures."""

    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    socket_errors: int
    cpu_us: float | None = None  # server CPU per request, all threads (None: no /proc)
    cpu_other_us: float | None = None  # of which threads other than the one serving requests


@dataclass
class Scenario:
    """A route measured on some servers; `runs[server]` holds one Run per round."""

    name: str
    path: str
    servers: list[str]
    script: Path
    runs: dict[str, list[Run]] = field(default_factory=dict)

    def median(self, server: str, attribute: str) -> float:
        """Median over rounds of one figure."""
        return float(statistics.median(getattr(run, attribute) for run in self.runs[server]))

    def saving(self, server: str, variant: str) -> int | None:
        """Median over rounds of the CPU µs per request `variant` spends less than `server`.

        Paired by round (the two ran seconds apart), so the machine's slow drift cancels out.
        """
        pairs = zip(self.runs[server], self.runs[variant], strict=True)
        savings = [
            a.cpu_us - b.cpu_us for a, b in pairs if a.cpu_us is not None and b.cpu_us is not None
        ]
        return round(statistics.median(savings)) if savings else None

    def cpu(self, server: str, attribute: str) -> int | None:
        """Median over rounds of a CPU figure, in whole µs; None without /proc."""
        values = [getattr(run, attribute) for run in self.runs[server]]
        return None if None in values else round(statistics.median(values))
