"""The one deep merge both configuration formats the tests read use: maps merge, the rest replaces.

Helm merges values files (`helm -f a.yaml -f b.yaml`) and GitLab merges `extends:` jobs by the
same rule: a mapping on both sides merges key by key, anything else (lists too) is replaced.
Standard library only: `chart_helm.py` imports it inside the chart tool's virtualenv.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` over `base`: mappings deep, everything else replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out
