"""`make new`: generate a service from this template; a bad answer is one line, not a traceback.

cookiecutter's own CLI follows the hook's one-line rejection with a 15-line traceback, and an
answer outside an option's choices with a 36-line one. This runs the same generation (same
hooks, same prompts) with cookiecutter's log lines kept and their tracebacks left out.

    python new.py [--no-input] [-o OUTPUT_DIR] [question=answer ...]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from cookiecutter.exceptions import CookiecutterException, FailedHookException
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parent


class WithoutTraceback(logging.Formatter):
    """cookiecutter logs a failed hook with its traceback; the hook already said why."""

    def formatException(self, ei: object) -> str:
        return ""


def answer_problems(answers: dict[str, str]) -> list[str]:
    """Questions the template does not ask, and values outside an option's choices.

    cookiecutter ignores the first silently and raises (with a traceback) on the second.
    """
    questions = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    found: list[str] = []
    for key, value in answers.items():
        default = questions.get(key)
        if key.startswith("_") or key not in questions:
            asked = ", ".join(k for k in questions if not k.startswith("_"))
            found.append(f"{key} is not a question of this template (it asks: {asked})")
        elif isinstance(default, list) and value not in default:
            found.append(f"{key}={value!r} is invalid: must be one of {', '.join(default)}")
    return found


def parse(argv: list[str] | None) -> tuple[argparse.Namespace, dict[str, str]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--no-input", action="store_true", help="take defaults, do not prompt")
    parser.add_argument("-o", "--output-dir", default=".", help="where the project goes")
    parser.add_argument("answers", nargs="*", metavar="question=answer")
    args = parser.parse_args(argv)
    answers: dict[str, str] = {}
    for item in args.answers:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"{item!r} is not question=answer")
        answers[key] = value
    return args, answers


def main(argv: list[str] | None = None) -> int:
    args, answers = parse(argv)
    errors = answer_problems(answers)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    if errors:
        return 1
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.INFO)
    handler.setFormatter(WithoutTraceback("%(levelname)s: %(message)s"))
    logger = logging.getLogger("cookiecutter")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    try:
        cookiecutter(
            str(TEMPLATE), no_input=args.no_input, extra_context=answers, output_dir=args.output_dir
        )
    except FailedHookException:
        return 1  # the hook printed the reason, cookiecutter that it stopped
    except (CookiecutterException, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
