"""`helm lint --strict CHART` and `helm template NAME CHART --namespace NS`, for pipeline jobs.

Both take `--set-string KEY=VALUE` (dotted keys, string values) as Helm does.

The machine has no helm binary; this stands in for the one `azure/setup-helm` (GitHub) or the
`alpine/k8s` image (GitLab) provides, with Helm's own Go engine (helm-python-sdk, in the `chart`
tool virtualenv, as tests/support/chart_helm.py). Only the two commands the pipelines run are
understood; anything else exits 2 so a new use of helm fails loudly instead of passing.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import helm_python as helm  # type: ignore[import-not-found, unused-ignore]

SEVERITY = {1: "INFO", 2: "WARNING", 3: "ERROR"}


def set_strings(pairs: list[str]) -> dict[str, Any]:
    """`--set-string a.b=c` pairs as nested values (no list indexes or escapes: none are used)."""
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"helm: --set-string wants KEY=VALUE, got {pair!r}")
        *parents, leaf = key.split(".")
        node = values
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return values


def lint(chart: str, strict: bool, values: dict[str, Any]) -> int:
    report = helm.lint(chart, values, strict=strict)
    for message in report.get("messages") or []:
        level = SEVERITY.get(message.get("severity"), "UNKNOWN")
        sys.stdout.write(f"[{level}] {message.get('path')}: {message.get('error')}\n")
    errors = report.get("errors") or []
    sys.stdout.write(f"1 chart(s) linted, {len(errors)} chart(s) failed\n")
    for error in errors:
        sys.stderr.write(f"Error: {error}\n")
    return 1 if errors else 0


def template(name: str, chart: str, namespace: str, values: dict[str, Any]) -> int:
    """Manifests as `helm template` prints them: each after `---` and its `# Source:`."""
    with helm.Chart.load(chart) as loaded:
        loaded.validate_schema(values)
        rendered = loaded.render(values, name=name, namespace=namespace, is_install=True)
    for source, text in sorted(rendered.items()):
        if source.endswith("NOTES.txt") or not text.strip():
            continue
        sys.stdout.write(f"---\n# Source: {source}\n{text.strip()}\n")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="helm", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    lint_args = sub.add_parser("lint")
    lint_args.add_argument("--strict", action="store_true")
    lint_args.add_argument("chart")
    lint_args.add_argument("--set-string", action="append", default=[])
    template_args = sub.add_parser("template")
    template_args.add_argument("name")
    template_args.add_argument("chart")
    template_args.add_argument("--namespace", required=True)
    template_args.add_argument("--set-string", action="append", default=[])
    args = parser.parse_args()
    values = set_strings(args.set_string)
    if args.command == "lint":
        return lint(args.chart, args.strict, values)
    return template(args.name, args.chart, args.namespace, values)


if __name__ == "__main__":
    sys.exit(main())
