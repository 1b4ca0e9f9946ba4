"""structlog for every log line (ours, stdlib's and uvicorn's): JSON in prod, console locally.

One stream keeps lines from both worlds in order. structlog's own loggers (the access line of
every request among them) take the fast path: filtered by level before any processor runs,
cached on first use, rendered by orjson and written straight to the stream, never through a
stdlib LogRecord; stdlib and uvicorn records go through the root handler and the same processors.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, ClassVar, TextIO

import orjson
import structlog
from opentelemetry import trace
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "[REDACTED]"
# Field names whose values never reach a log line, at any depth (headers, payloads, settings).
SECRET_FIELD = re.compile(
    r"pass(word|wd|phrase)?|secret|token|authorization|cookie|api[_-]?key|credential",
    re.IGNORECASE,
)


@lru_cache(maxsize=4096)
def _is_secret(key: str) -> bool:
    """Field names repeat on every line: match each name once."""
    return SECRET_FIELD.search(key) is not None


_SCALARS = (str, int, float, bool, type(None))


def _redact(value: Any) -> Any:  # noqa: ANN401 - log values are arbitrary by nature
    if isinstance(value, _SCALARS):  # most values: skip the slower abstract checks below
        return value
    if isinstance(value, Mapping):
        return {
            key: REDACTED if _is_secret(str(key)) else _redact(item) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(item) for item in value]
    return value


def redact_secrets(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """Replace the values of secret-looking fields (Authorization, cookies, *password*...).

    Top-level fields are replaced in place (they are the common case: no copy, no recursion).
    """
    for key, value in event_dict.items():
        if _is_secret(key):
            event_dict[key] = REDACTED
        elif not isinstance(value, _SCALARS):
            event_dict[key] = _redact(value)
    return event_dict


def add_trace_context(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """trace_id and span_id of the current span, so a log line leads to its trace."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


def _dumps(value: Any, **_kwargs: Any) -> str:  # noqa: ANN401 - structlog's serializer hook
    return orjson.dumps(value, default=str).decode()


class LineLogger:
    """structlog's output end: one rendered line to the current stream (see `configure_logging`).

    The stream is looked up per line, not kept, so loggers cached before a reconfiguration
    (module-level ones are cached on first use) follow the new stream.
    """

    stream: ClassVar[TextIO] = sys.stdout
    __slots__ = ("name",)

    def __init__(self, name: str = "") -> None:
        self.name = name

    def msg(self, line: str) -> None:
        """Write and flush, like the stdlib handler, so no line waits in a buffer."""
        stream = LineLogger.stream
        stream.write(line + "\n")
        stream.flush()

    debug = info = warning = warn = error = critical = exception = fatal = msg


def _line_logger(*args: Any) -> LineLogger:  # noqa: ANN401 - structlog passes get_logger's args
    return LineLogger(str(args[0]) if args else "")


def configure_logging(level: str, log_format: str) -> None:
    """Idempotent: safe to call from each app factory invocation."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_trace_context,
        redact_secrets,
        structlog.processors.format_exc_info,
    ]
    renderer: Processor = (
        structlog.dev.ConsoleRenderer()
        if log_format == "console" and sys.stdout.isatty()
        else structlog.processors.JSONRenderer(serializer=_dumps)
    )
    LineLogger.stream = sys.stdout
    structlog.configure(
        processors=[*shared, renderer],
        logger_factory=_line_logger,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level]),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # The access line is the middleware's (with route, duration, request id). uvicorn logs its
    # own only when this logger has handlers, through the slow stdlib path: it must have none.
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers.clear()
    uvicorn_access.propagate = False
