"""structlog for every log line (ours, stdlib's and uvicorn's): JSON in prod, console locally.

One sink (the root handler) keeps lines from both worlds in order; structlog's own loggers are
filtered by level before any processor runs and cached on first use, and JSON is encoded by
orjson.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any

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


def _redact(value: Any) -> Any:  # noqa: ANN401 - log values are arbitrary by nature
    if isinstance(value, Mapping):
        return {
            key: REDACTED if SECRET_FIELD.search(str(key)) else _redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(item) for item in value]
    return value


def redact_secrets(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """Replace the values of secret-looking fields (Authorization, cookies, *password*...)."""
    redacted: EventDict = _redact(event_dict)
    return redacted


def add_trace_context(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """trace_id and span_id of the current span, so a log line leads to its trace."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


def _dumps(value: Any, **_kwargs: Any) -> str:  # noqa: ANN401 - structlog's serializer hook
    return orjson.dumps(value, default=str).decode()


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
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
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
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
