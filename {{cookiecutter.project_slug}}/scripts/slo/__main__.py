"""`python -m scripts.slo [--check]`: write the files generated from slo.yaml, or check them."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scripts.slo.dashboard import dashboard
from scripts.slo.rule_tests import rule_tests
from scripts.slo.rules import rules
from scripts.slo.runbooks import runbook
from scripts.slo.spec import ROOT, SPEC, Spec
from scripts.slo.yaml_out import HEADER, to_yaml


def outputs(spec: Spec) -> dict[Path, str]:
    """Every generated file and its content."""
    folder = ROOT / "deploy/observability"
    rule_text = to_yaml(rules(spec))
    files = {
        # The only copy, in the chart: its PrometheusRule ships it (a chart cannot read outside
        # its folder); compose's Prometheus and promtool read it there.
        ROOT / "deploy/helm" / spec.service / "files/rules.yaml": rule_text,
        folder / "dashboard.json": json.dumps(dashboard(spec), indent=2) + "\n",
    }
    for long, tests in rule_tests(spec).items():
        files[folder / "tests" / f"burn-rate-{long}.yaml"] = to_yaml(tests)
    for alert in spec.alerts:
        files[ROOT / "docs/runbooks" / f"{alert.slug}.md"] = runbook(spec, alert)
    if spec.outbox is not None:
        tests = spec.outbox.rule_tests(spec.service, spec.selector)
        files[folder / "tests/outbox.yaml"] = to_yaml(tests)
        note = f"<!-- {HEADER.strip().removeprefix('# ')} -->\n"
        for slug, text in spec.outbox.runbooks(spec.service).items():
            files[ROOT / "docs/runbooks" / f"{slug}.md"] = note + text
    return files


def main(argv: list[str] | None = None) -> int:
    """Write the files, or with --check report the stale ones and exit 1."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a file is stale")
    parser.add_argument("--spec", type=Path, default=SPEC)
    args = parser.parse_args(argv)
    files = outputs(Spec.load(args.spec))
    stale = [p for p, text in files.items() if not p.is_file() or p.read_text() != text]
    if args.check:
        for path in stale:
            sys.stderr.write(f"stale: {path.relative_to(ROOT)} (run `make slo`)\n")
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path])
    return 0


if __name__ == "__main__":
    sys.exit(main())
