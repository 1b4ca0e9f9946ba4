"""Lint, schema-check and render a Helm chart with Helm's own Go engine (helm-python-sdk).

Runs inside the ``chart`` tool virtualenv (``tests/tools/chart.txt``), not the test process:
``helm_python`` binds Helm's Go SDK through ctypes, so no helm binary and no network are used.

    python chart_helm.py render CHART OUT --name N --namespace NS [--values F ...]
        [--kube-version v1.30.0 ...]
    python chart_helm.py schema CHART VALUES_FILE ... [--base F ...]

Both print one JSON document on stdout; the tests decide what passes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import helm_python as helm  # type: ignore[import-not-found, unused-ignore]

# A script in the chart tool's virtualenv: the template root makes `tests.support` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support.deep_merge import merge  # `helm -f a -f b` merging, after the line above


def load_values(files: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in files:
        values = merge(values, helm.values_from_yaml(Path(name).read_text()))
    return values


def cmd_render(args: argparse.Namespace) -> dict[str, Any]:
    values = load_values(args.values)
    lints = {}
    for kube_version in args.kube_version:
        lints[kube_version] = helm.lint(
            args.chart, values, strict=True, namespace=args.namespace, kube_version=kube_version
        )
    with helm.Chart.load(args.chart) as chart:
        chart.validate_schema(values)
        rendered = chart.render(values, name=args.name, namespace=args.namespace, is_install=True)
        metadata = chart.metadata
    out = Path(args.out)
    manifests = out / "manifests"
    manifests.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    notes = ""
    for template, text in sorted(rendered.items()):
        rel = template.split("/templates/", 1)[1]
        if rel == "NOTES.txt":
            notes = text
            continue
        if not text.strip():
            continue  # a disabled optional resource renders empty
        target = manifests / rel.replace("/", "__")
        target.write_text(text if text.endswith("\n") else text + "\n")
        files[rel] = str(target)
    return {
        "helm_sdk": helm.helm_sdk_version(),
        "chart": {"name": metadata.get("name"), "version": metadata.get("version")},
        "lint": lints,
        "files": files,
        "notes": notes,
    }


def cmd_schema(args: argparse.Namespace) -> dict[str, Any]:
    """For each values file (over the --base files, as `helm -f base -f file`): does the chart's
    values.schema.json reject it, does lint, and does rendering fail (with what message)?"""
    results = {}
    with helm.Chart.load(args.chart) as chart:
        for name in args.files:
            values = load_values([*args.base, name])
            entry: dict[str, Any] = {"rejected": False, "message": ""}
            try:
                chart.validate_schema(values)
            except helm.HelmValuesError as exc:
                entry = {"rejected": True, "message": str(exc)}
            report = helm.lint(args.chart, values, strict=True)
            entry["lint_errors"] = report.get("errors") or []
            entry["render_error"] = ""
            try:
                chart.render(values, name="schema-check", namespace="default", is_install=True)
            except helm.HelmError as exc:
                entry["render_error"] = str(exc)
            results[name] = entry
    return {"helm_sdk": helm.helm_sdk_version(), "results": results}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    render = sub.add_parser("render")
    render.add_argument("chart")
    render.add_argument("out")
    render.add_argument("--name", required=True)
    render.add_argument("--namespace", required=True)
    render.add_argument("--values", action="append", default=[])
    render.add_argument("--kube-version", action="append", default=[])
    schema = sub.add_parser("schema")
    schema.add_argument("chart")
    schema.add_argument("files", nargs="+")
    schema.add_argument("--base", action="append", default=[])
    args = parser.parse_args()
    if args.command == "render" and not args.kube_version:
        args.kube_version = ["v1.30.0"]
    result = cmd_render(args) if args.command == "render" else cmd_schema(args)
    json.dump(result, sys.stdout, indent=2, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
