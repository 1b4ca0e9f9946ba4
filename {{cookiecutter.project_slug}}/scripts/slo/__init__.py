"""Generate SLO rules, their promtool tests, runbooks and the dashboard from one slo.yaml.

`python -m scripts.slo` writes the files; `--check` exits 1 naming those that are stale.
The alerts are the Site Reliability Workbook's multi-window, multi-burn-rate alerts, plus the
event outbox's alerts when slo.yaml has an `outbox` section (`outbox.py`). One module per job:
`spec` reads slo.yaml, `rules`, `rule_tests`, `runbooks` and `dashboard` each make one kind of
file, `__main__` says where they go and checks that they are current.
"""
