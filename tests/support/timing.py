"""Timing that holds on any machine of this kind: a reference measured in the same run.

Machines differ two to three times in speed and are shared, so a limit in seconds set on one
fails on the next. Every timed assertion divides what it measures by a reference workload run
on the same machine in the same run, and asserts the ratio; the seconds are reported next to
the target they were once set as.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

# A fixed amount of the work a test run does: start an interpreter, import a large library
# stack from bytecode, run Python code. 0.70 s on an idle machine of this kind, 1.8 s on one
# loaded to 7.
REFERENCE_WORKLOAD = """
import json, sqlite3, decimal, email.parser, asyncio, logging.handlers
import jinja2, yaml, httpx, cookiecutter.main
rows = [
    {"id": i, "name": f"item-{i}", "price": str(decimal.Decimal(i) / 100)} for i in range(20_000)
]
db = sqlite3.connect(":memory:")
db.execute("create table t (id integer primary key, name text, price text)")
db.executemany("insert into t values (:id, :name, :price)", rows)
assert len(json.loads(json.dumps(rows))) == db.execute("select count(*) from t").fetchone()[0]
template = jinja2.Template("{% for r in rows %}{{ r.name }}={{ r.price }}\\n{% endfor %}")
assert template.render(rows=rows[:10_000]).count("\\n") == 10_000
"""


def best_of(attempts: int, work: Callable[[], object]) -> tuple[float, list[float]]:
    """The fastest of `attempts` runs (noise on a shared machine only ever adds time)."""
    times = []
    for _ in range(attempts):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times), times


def reference_seconds(attempts: int = 5) -> float:
    """Wall time of REFERENCE_WORKLOAD in a fresh interpreter, best of `attempts`."""

    def once() -> None:
        subprocess.run([sys.executable, "-c", REFERENCE_WORKLOAD], check=True, timeout=120)

    return best_of(attempts, once)[0]


@dataclass(frozen=True)
class Budget:
    """A target in seconds, set on a machine where the reference took `reference` seconds.

    The assertion is on the ratio to the reference, which travels between machines; the
    seconds a faster or slower machine would allow follow from its own reference.
    """

    what: str
    target: float  # seconds, on the machine the budget was set on
    reference: float  # that machine's reference_seconds()

    @property
    def ratio(self) -> float:
        return self.target / self.reference

    def describe(self, measured: float, reference: float) -> str:
        """One line for the log: seconds, ratio, and what this machine's budget is."""
        ratio = measured / reference
        return (
            f"{self.what}: {measured:.2f} s = {ratio:.1f} x reference ({reference:.2f} s); "
            f"budget {self.ratio:.1f} x (here {self.ratio * reference:.1f} s; set as "
            f"{self.target:g} s where the reference took {self.reference:.2f} s), "
            f"used {ratio / self.ratio:.2f}"
        )

    def holds(self, measured: float, reference: float) -> bool:
        return measured / reference <= self.ratio


# The `figure` fixture: record a measured figure; the run prints them all at the end.
Figure = Callable[[str], None]
