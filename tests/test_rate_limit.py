"""The default service as a real process, limited per caller: wrk floods one client, another
stays under its limit.

The service counts in the machine's Redis (`RATE_LIMIT=50/second`, one-second windows on the
clock) and trusts X-Forwarded-For from 127.0.0.1 only, so the two clients are two addresses
behind one proxy. wrk counts the answers that were not 429 per second of the clock (its Lua
`response` hook); over the seconds wrk ran through from start to end, they must average the
limit within 10%. 50/s is far below what a 2-3x slower machine serves, so fewer would mean a
stalled server, and more, a limiter that admits too much.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx
import pytest

from tests.services import redis_available, redis_url
from tests.support.env import require
from tests.support.project import Installed
from tests.support.server import serve
from tests.support.timing import Figure

pytestmark = pytest.mark.xdist_group("resilience")  # load tests run one at a time

LIMIT = 50  # per second
FLOODER = "198.51.100.1"
NEIGHBOUR = "198.51.100.2"
NEIGHBOUR_RATE = 10  # requests per second, a fifth of the limit
SECONDS = 8
# Per second of the clock: answers that were not 429, and the 429s.
WRK_PER_SECOND = """
wrk.headers["X-Forwarded-For"] = "%s"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) served = {}; refused = 0 end
function response(status, headers, body)
  if status == 429 then
    refused = refused + 1
  else
    local second = os.time()
    served[second] = (served[second] or 0) + 1
  end
end
function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for second, count in pairs(thread:get("served")) do
      io.write(string.format("served %%d %%d\\n", second, count))
    end
    io.write(string.format("refused %%d\\n", thread:get("refused")))
  end
end
"""


@pytest.fixture(scope="module")
def project(installed_project: Callable[[Mapping[str, object]], Installed]) -> Installed:
    """The default combination (cache=redis), locked and installed; shared by the run."""
    return installed_project({})


class Neighbour(threading.Thread):
    """A client under its limit: NEIGHBOUR_RATE requests per second until stopped."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.statuses: list[int] = []
        self.fields: list[str] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        headers = {"X-Forwarded-For": NEIGHBOUR}
        with httpx.Client(timeout=10, headers=headers) as client:
            while not self.stopped.wait(1 / NEIGHBOUR_RATE):
                response = client.get(self.url)
                self.statuses.append(response.status_code)
                self.fields.append(response.headers.get("ratelimit", ""))


def parse_wrk(out: str) -> tuple[dict[int, int], int]:
    served: dict[int, int] = {}
    refused = 0
    for line in out.splitlines():
        words = line.split()
        if words[:1] == ["served"]:
            served[int(words[1])] = served.get(int(words[1]), 0) + int(words[2])
        elif words[:1] == ["refused"]:
            refused += int(words[1])
    return served, refused


def test_a_flooding_client_gets_its_limit_and_a_neighbour_gets_no_429(
    project: Installed, tmp_path: Path, figure: Figure
) -> None:
    wrk = shutil.which("wrk")
    require(wrk, "wrk is not installed (apt-get install wrk)")
    require(redis_available(), "Redis is not reachable on 127.0.0.1:6379")
    assert wrk is not None
    script = tmp_path / "per_second.lua"
    script.write_text(WRK_PER_SECOND % FLOODER)
    env = {
        **project[1],
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
        "REDIS_URL": redis_url(13),
        "SERVICE_NAME": f"rate-limit-{uuid.uuid4().hex[:8]}",  # counters of this run only
        "RATE_LIMIT": f"{LIMIT}/second",
        "TRUSTED_PROXIES": '["127.0.0.1/32"]',
        "LOG_LEVEL": "WARNING",
    }
    with serve(project[0], env, tmp_path) as running:
        created = httpx.post(
            f"{running.url}/api/v2/items", json={"name": "cup", "price_cents": 250}, timeout=5
        )
        assert created.status_code == 201
        url = f"{running.url}/api/v2/items/{created.json()['id']}"
        neighbour = Neighbour(url)
        neighbour.start()
        started = time.time()
        load = subprocess.run(
            [wrk, "-t1", "-c8", f"-d{SECONDS}s", "--timeout=10s", "-s", str(script), url],
            capture_output=True, text=True, timeout=SECONDS + 30, check=False,
        )  # fmt: skip
        ended = time.time()
        neighbour.stopped.set()
        neighbour.join(timeout=15)
        log = running.log_text()
    assert load.returncode == 0, load.stdout + load.stderr
    served, refused = parse_wrk(load.stdout)
    # The seconds wholly inside the run; the first and last are partial.
    whole = {s: n for s, n in served.items() if started < s and s + 1 < ended}
    assert len(whole) >= SECONDS - 3, (served, started, ended)
    rate = sum(whole.values()) / len(whole)
    figure(
        f"wrk over {LIMIT}/s: served per whole second {sorted(whole.items())} (mean "
        f"{rate:.1f}), {refused} x 429; neighbour at {NEIGHBOUR_RATE}/s: "
        f"{len(neighbour.statuses)} requests, statuses {sorted(set(neighbour.statuses))}"
    )
    assert refused > LIMIT * len(whole), "wrk never went over the limit: nothing was proven"
    assert abs(rate - LIMIT) <= LIMIT * 0.1, whole
    # wrk's clock (time(2): the kernel's coarse clock) reads up to a tick (~4 ms) early, so
    # answers of a window's first milliseconds can count in the second before: single seconds
    # are only checked loosely, and the mean moves by at most those of the two edges.
    assert all(abs(n - LIMIT) <= LIMIT * 0.5 for n in whole.values()), whole
    assert neighbour.statuses, "the neighbour sent nothing"
    assert set(neighbour.statuses) == {200}, neighbour.statuses
    assert all(field.startswith('"default";r=') for field in neighbour.fields), neighbour.fields
    assert "Traceback" not in log, log[-3000:]
