"""The option space the template offers, and the combinations the suite renders."""

from __future__ import annotations

import json
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent
CHOICES: dict[str, list[str]] = {
    key: value
    for key, value in json.loads((TEMPLATE / "cookiecutter.json").read_text()).items()
    if isinstance(value, list) and not key.startswith("_")
}
DEFAULTS = {key: values[0] for key, values in CHOICES.items()}

# Every value of every option at least once, each on top of the defaults.
SINGLE = [{key: value} for key, values in CHOICES.items() for value in values[1:]]
# Options whose files or code touch each other: messaging x cache share settings, lifespan and
# dependencies; ci x rollout share the deploy pipeline; python_version x messaging picks wheels.
PAIRS = [{"messaging": m, "cache": c} for m in CHOICES["messaging"] for c in CHOICES["cache"]] + [
    {"ci": "both", "rollout": "canary"},
    {"ci": "gitlab", "rollout": "canary"},
    {"python_version": "3.12", "messaging": "kafka"},
    {"python_version": "3.12", "messaging": "nats"},
]
# Deep combinations: every gate runs inside these generated projects.
DEEP = [
    {},
    {"messaging": "kafka", "cache": "none", "ci": "gitlab"},
    {"messaging": "none", "rollout": "canary", "python_version": "3.12"},
]


def combo_id(answers: dict[str, str]) -> str:
    """Readable pytest id, e.g. `messaging=kafka,cache=none`, or `defaults`."""
    return ",".join(f"{k}={v}" for k, v in answers.items()) or "defaults"
