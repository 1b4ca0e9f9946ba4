"""GitHub `${{ }}` expressions and GitLab `$VAR` references, for the few forms the pipelines use.

Only what the generated pipelines need is understood: context paths, string/number/boolean
literals, `==` `!=` `!` `&&` `||`, parentheses and the status functions. Anything else raises
`PipelineError`: guessing the value of an expression would let a job run in a way CI never does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

Value = str | float | bool | None
Lookup = Callable[[str], Value]

TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|&&|\|\||!|\(|\))"
    r"|(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*))"
)
INTERPOLATION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
GITLAB_REFERENCE = re.compile(r"\$(?:\{(?P<braced>\w+)\}|(?P<bare>\w+))")
STATUS_FUNCTIONS = ("always", "success", "failure", "cancelled")
LITERALS: dict[str, Value] = {"true": True, "false": False, "null": None}


class PipelineError(Exception):
    """The pipeline uses something the local runner does not know how to reproduce."""


def truthy(value: Value) -> bool:
    return value not in (None, False, "", 0.0)


def text(value: Value) -> str:
    """A value as GitHub writes it into a string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return value


def number(value: Value) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, float):
        return value
    try:
        return float(value.strip() or 0)
    except ValueError:
        return math.nan


def equal(left: Value, right: Value) -> bool:
    """GitHub's loose equality: strings compare case-insensitively, mixed types as numbers."""
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    return number(left) == number(right)


class _Parser:
    def __init__(self, source: str, lookup: Lookup, status: Mapping[str, bool]) -> None:
        self.source, self.lookup, self.status = source, lookup, status
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(source.rstrip()):
            match = TOKEN.match(source, position)
            if not match or match.end() == position:
                raise PipelineError(f"cannot read the expression `{source}` at {position}")
            kind = match.lastgroup
            assert kind is not None
            self.tokens.append((kind, match[kind]))
            position = match.end()
        self.index = 0

    def peek(self) -> str | None:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.index >= len(self.tokens):
            raise PipelineError(f"the expression `{self.source}` ends too early")
        self.index += 1
        return self.tokens[self.index - 1]

    def parse(self) -> Value:
        value = self.either()
        if self.index != len(self.tokens):
            raise PipelineError(f"unexpected `{self.peek()}` in `{self.source}`")
        return value

    def either(self) -> Value:
        """`a || b`: the first truthy operand, else the last (GitHub's, like JavaScript's)."""
        return self.chain("||", self.both, lambda left, right: left if truthy(left) else right)

    def both(self) -> Value:
        """`a && b`: the first falsy operand, else the last."""
        return self.chain("&&", self.compare, lambda left, right: right if truthy(left) else left)

    def chain(
        self, operator: str, operand: Callable[[], Value], combine: Callable[[Value, Value], Value]
    ) -> Value:
        """Operands joined by one left-associative operator; every operand is parsed."""
        value = operand()
        while self.peek() == operator:
            self.take()
            value = combine(value, operand())
        return value

    def compare(self) -> Value:
        value = self.unary()
        if self.peek() in ("==", "!="):
            operator = self.take()[1]
            same = equal(value, self.unary())
            return same if operator == "==" else not same
        return value

    def unary(self) -> Value:
        if self.peek() == "!":
            self.take()
            return not truthy(self.unary())
        return self.primary()

    def primary(self) -> Value:
        kind, word = self.take()
        if (kind, word) == ("op", "("):
            value = self.either()
            if self.take()[1] != ")":
                raise PipelineError(f"unbalanced parentheses in `{self.source}`")
        elif kind == "str":
            value = word[1:-1].replace("''", "'")
        elif kind == "num":
            value = float(word)
        elif kind != "name":
            raise PipelineError(f"unexpected `{word}` in `{self.source}`")
        elif word in LITERALS:
            value = LITERALS[word]
        elif self.peek() == "(":
            if word not in STATUS_FUNCTIONS:
                raise PipelineError(f"function {word}() is not reproduced locally")
            self.take()
            if self.take()[1] != ")":
                raise PipelineError(f"{word}() takes no argument here")
            value = self.status[word]
        else:
            value = self.lookup(word)
        return value


def evaluate(source: str, lookup: Lookup, status: Mapping[str, bool] | None = None) -> Value:
    """The value of one expression (the text between `${{` and `}}`, or an `if:`)."""
    body = source.strip()
    match = INTERPOLATION.fullmatch(body)
    if match:
        body = match[1]
    states = status or {"always": True, "success": True, "failure": False, "cancelled": False}
    return _Parser(body, lookup, states).parse()


def interpolate(template: str, lookup: Lookup) -> str:
    """A string with each `${{ ... }}` replaced by its value."""
    return INTERPOLATION.sub(lambda m: text(evaluate(m[1], lookup)), template)


def condition(source: str | bool | None, lookup: Lookup, status: Mapping[str, bool]) -> bool:
    """An `if:`; without a status function GitHub reads it as `success() && (...)`."""
    if source is None:
        return status["success"]
    if isinstance(source, bool):
        return source and status["success"]
    value = truthy(evaluate(source, lookup, status))
    if not any(f"{name}(" in source for name in STATUS_FUNCTIONS):
        return value and status["success"]
    return value


def expand_gitlab(value: str, variables: Mapping[str, str]) -> str:
    """`$X` and `${X}` expanded from `variables`; an unknown name is an error, not ''."""

    def replace(match: re.Match[str]) -> str:
        name = match["braced"] or match["bare"]
        if name not in variables:
            raise PipelineError(f"${name} in `{value}` is not defined for the local run")
        return variables[name]

    return GITLAB_REFERENCE.sub(replace, value)
