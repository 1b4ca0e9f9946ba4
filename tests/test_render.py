"""Render every option value and the interacting pairs; check what each render contains."""

from __future__ import annotations

import json
import re
import shlex
import sys
import tomllib
from collections.abc import Callable
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml

from tests.options import CHOICES, DEFAULTS, PAIRS, SINGLE, combo_id
from tests.support.env import TEMPLATE, run
from tests.support.project import Render

RENDERS = [{}, *SINGLE, *PAIRS]
# Files copied verbatim on purpose (Go templates, GitHub expressions): see cookiecutter.json.
VERBATIM = json.loads((TEMPLATE / "cookiecutter.json").read_text())["_copy_without_render"]
UNRENDERED = re.compile(r"\{\{\s*cookiecutter|\{%|\{#|cookiecutter\.")


def load_manifest(answers: dict[str, str]) -> tuple[dict[str, dict[str, list[str]]], set[str]]:
    """The post-gen hook's manifest and what it removes, evaluated like the hook does."""
    source = (TEMPLATE / "hooks" / "post_gen_project.py").read_text()
    context = {**DEFAULTS, **answers, "project_slug": "orders-service"}
    context["package_name"] = "orders_service"
    namespace: dict[str, object] = {"__name__": "manifest"}
    exec(  # noqa: S102 - evaluating our own hook with a known context
        source.replace('r"""{{ cookiecutter | jsonify }}"""', repr(json.dumps(context))),
        namespace,
    )
    manifest = namespace["ONLY_FOR"]
    remove = namespace["paths_to_remove"](context)  # type: ignore[operator]
    return manifest, remove  # type: ignore[return-value]


def is_verbatim(rel: Path) -> bool:
    return any(fnmatch(str(rel), pattern) for pattern in VERBATIM)


@pytest.mark.parametrize("answers", RENDERS, ids=[combo_id(a) for a in RENDERS])
def test_render(render: Render, answers: dict[str, str]) -> None:
    project = render(**answers)
    chosen = {**DEFAULTS, **answers}
    files = [p for p in project.rglob("*") if p.is_file()]
    assert files, "the render produced no files"

    leftovers = [
        str(p.relative_to(project))
        for p in files
        if not is_verbatim(p.relative_to(project)) and UNRENDERED.search(p.read_text())
    ]
    assert not leftovers, f"unrendered Jinja in {leftovers}"

    _, removed = load_manifest(answers)
    still_there = sorted(rel for rel in removed if (project / rel).exists())
    assert not still_there, f"files of disabled options left behind: {still_there}"

    cruft = json.loads((project / ".cruft.json").read_text())
    for key, value in chosen.items():
        assert cruft["context"]["cookiecutter"][key] == value
    assert cruft["template"]

    assert (project / ".python-version").read_text().strip() == chosen["python_version"]
    pyproject = (project / "pyproject.toml").read_text()
    assert f'requires-python = ">={chosen["python_version"]}"' in pyproject
    has_events = (project / "src/orders_service/events").exists()
    assert has_events == (chosen["messaging"] != "none")
    assert ("faststream" in pyproject) == has_events
    assert ("redis>=" in pyproject) == (chosen["cache"] == "redis")
    assert (project / ".github").exists() == (chosen["ci"] in {"github", "both"})
    assert (project / ".gitlab-ci.yml").exists() == (chosen["ci"] in {"gitlab", "both"})

    # Generated Python must be clean for every combination, not only the deep ones.
    ruff = [sys.executable, "-m", "ruff"]
    run([*ruff, "format", "--check", "--quiet", "."], cwd=project)
    run([*ruff, "check", "--quiet", "."], cwd=project)


def test_every_manifest_path_exists_when_its_option_is_on(render: Render) -> None:
    """A manifest entry that names no real file would silently prune nothing."""
    manifest, _ = load_manifest({})
    for option, by_value in manifest.items():
        for value, paths in by_value.items():
            if not paths:
                continue
            project = render(**{option: value})
            missing = [p for p in paths if not (project / p).exists()]
            assert not missing, f"{option}={value}: manifest names missing {missing}"


def test_every_choice_is_rendered_somewhere() -> None:
    """No option may exist that the suite never renders."""
    rendered = {(k, v) for answers in RENDERS for k, v in {**DEFAULTS, **answers}.items()}
    every = {(k, v) for k, values in CHOICES.items() for v in values}
    assert every <= rendered, f"never rendered: {sorted(every - rendered)}"


TRICKY_NAME = 'Bob\'s "Quote" \\ Service $HOME'
TRICKY_DESCRIPTION = (
    'It\'s a "quoted" \\ description with $PATH & <tags>, and longer than any line may be: '
    + "more " * 20
)
STRUCTURED: dict[str, Callable[[str], object]] = {
    ".json": json.loads,
    ".toml": tomllib.loads,
    ".yaml": lambda text: list(yaml.safe_load_all(text)),
    ".yml": lambda text: list(yaml.safe_load_all(text)),
}


def test_quotes_and_backslashes_in_names_stay_valid(render: Render) -> None:
    """Free-text answers reach Python, TOML, YAML, JSON and the Dockerfile escaped for each."""
    project = render(project_name=TRICKY_NAME, description=TRICKY_DESCRIPTION)
    assert project.name == "bob-s-quote-service-home"
    ruff = [sys.executable, "-m", "ruff"]
    run([*ruff, "format", "--check", "--quiet", "."], cwd=project)
    run([*ruff, "check", "--quiet", "."], cwd=project)
    parsed = 0
    for path in sorted(project.rglob("*")):
        loader = STRUCTURED.get(path.suffix)
        if loader is None or is_verbatim(path.relative_to(project)) or "/templates/" in str(path):
            continue
        loader(path.read_text())
        parsed += 1
    assert parsed > 20
    app = (project / "src/bob_s_quote_service_home/app.py").read_text()
    namespace: dict[str, object] = {}
    key = '"title": '  # the app factory's FastAPI options
    title_line = next(line.strip() for line in app.splitlines() if line.strip().startswith(key))
    exec(f"title = {title_line.removeprefix(key).rstrip(',')}", namespace)  # noqa: S102 - our render
    assert namespace["title"] == TRICKY_NAME
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["description"] == TRICKY_DESCRIPTION
    dashboards = yaml.safe_load(
        (project / "deploy/compose/grafana/provisioning/dashboards/dashboards.yaml").read_text()
    )
    assert dashboards["providers"][0]["folder"] == TRICKY_NAME
    dockerfile = (project / "Dockerfile").read_text()
    label = next(
        line for line in dockerfile.splitlines() if "org.opencontainers.image.description=" in line
    )
    # Docker quotes LABEL values like a POSIX shell and expands `$` unless it is `\$`; shlex
    # unquotes the same way but keeps `\$` as it is.
    (word,) = shlex.split(label.removesuffix("\\").strip())
    escaped = TRICKY_DESCRIPTION.replace("$", "\\$")
    assert word == f"org.opencontainers.image.description={escaped}"


def test_non_ascii_name_derives_an_ascii_slug(render: Render) -> None:
    project = render(project_name="Zahlungs-Dienst Ä")
    assert project.name == "zahlungs-dienst-a"
    assert (project / "src/zahlungs_dienst_a/app.py").is_file()


def test_every_answer_has_a_prompt() -> None:
    """A prompt without wording shows the raw variable name to the person answering."""
    spec = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    prompts = spec["__prompts__"]
    answers = [key for key in spec if not key.startswith("_")]
    missing = [key for key in answers if key not in prompts]
    assert not missing, f"no human wording for {missing}"
    unknown = sorted(set(prompts) - set(answers))
    assert not unknown, f"prompts for answers that do not exist: {unknown}"
    for key in answers:
        text = prompts[key] if isinstance(prompts[key], str) else prompts[key]["__prompt__"]
        assert "_" not in text, f"{key}: {text!r} is a variable name, not human wording"
        assert text[:1].isupper(), f"{key}: {text!r} is not a sentence"


def test_cookiecutter_dot_records_where_cruft_finds_the_template(tmp_path: Path) -> None:
    """`make demo` and `cookiecutter .` give the template as "."; `.cruft.json` must not."""
    run(
        [
            str(Path(sys.executable).with_name("cookiecutter")),
            "--no-input",
            "-o",
            str(tmp_path),
            ".",
        ],
        cwd=TEMPLATE,
        env={"TEMPLATE_SKIP_LOCK": "1"},
    )
    state = json.loads((tmp_path / "orders-service/.cruft.json").read_text())
    head = run(["git", "rev-parse", "HEAD"], cwd=TEMPLATE).stdout.strip()
    top = run(["git", "rev-parse", "--show-toplevel"], cwd=TEMPLATE).stdout.strip()
    assert Path(state["template"]).is_absolute()
    assert Path(state["template"]).resolve() == Path(top).resolve()
    assert state["commit"] == head
    assert state["directory"] is None
    assert "skip" not in state, "the skip list lives in pyproject.toml, where cruft create keeps it"
    pyproject = tomllib.loads((tmp_path / "orders-service/pyproject.toml").read_text())
    assert {"uv.lock", ".cruft.json"} <= set(pyproject["tool"]["cruft"]["skip"])


def test_renders_ignore_the_callers_cookiecutter_config(
    render: Render, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A developer's ~/.cookiecutterrc (here COOKIECUTTER_CONFIG) changes no test's answers,
    and no render writes into the developer's replay folder."""
    replay = tmp_path / "callers-replay"
    config = tmp_path / "cookiecutterrc.yaml"
    config.write_text(
        yaml.safe_dump(
            {"default_context": {"messaging": "kafka", "author": "Someone Else"},
             "replay_dir": str(replay)}
        )
    )  # fmt: skip
    monkeypatch.setenv("COOKIECUTTER_CONFIG", str(config))
    project = render()
    answers = json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]
    assert (answers["messaging"], answers["author"]) == (DEFAULTS["messaging"], "Platform Team")
    assert not replay.exists() or not any(replay.iterdir())
