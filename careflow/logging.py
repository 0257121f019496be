"""structlog, configured once per process: JSON off a terminal, readable on one.

temporalio logs a failing activity or workflow task with its exception and traceback. The
failure itself is stored encrypted in the history (readable through the codec server), but a
log line is plain text that ends up in a log store, and an exception's message may quote what
it was given (a name, a phone). So a temporalio record keeps its fixed message, the exception's
type and where it was raised, never the exception's message or the traceback's locals.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any

import structlog

__all__ = ["StderrHandler", "configure_logging", "formatter", "private_exceptions"]

_configured = False

_SDK_LOGGERS = "temporalio"
_QUOTES_ERROR = ", original error:"
"""temporalio puts the exception's text into this message itself; the rest is cut off."""


def private_exceptions(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """For temporalio's records: the exception as its type and place, without its message."""
    record = event_dict.get("_record")
    name = record.name if isinstance(record, logging.LogRecord) else ""
    if not name.startswith(_SDK_LOGGERS):
        return event_dict
    event = str(event_dict.get("event", ""))
    if _QUOTES_ERROR in event:
        event_dict["event"] = event.split(_QUOTES_ERROR, 1)[0]
    exc_info = event_dict.pop("exc_info", None)
    if isinstance(exc_info, tuple) and exc_info[1] is not None:
        error = exc_info[1]
        event_dict["error_type"] = type(error).__name__
        frames = traceback.extract_tb(exc_info[2]) if exc_info[2] is not None else []
        if frames:
            event_dict["error_at"] = f"{frames[-1].filename}:{frames[-1].lineno}"
        cause = error.__cause__ or error.__context__
        if cause is not None:
            event_dict["error_cause_type"] = type(cause).__name__
    return event_dict


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted.

    A handler bound to the stream of the moment outlives it when a test runner or a tool
    swaps ``sys.stderr`` and closes the old one; every later record then fails to write.
    """

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass  # always the current sys.stderr


def formatter(*, use_json: bool) -> structlog.stdlib.ProcessorFormatter:
    """The formatter of the one handler: structlog's events and the standard library's records."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if use_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[private_exceptions, *_shared()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )


def _shared() -> list[structlog.typing.Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        # temporalio's workflow.logger and activity.logger put their context in `extra`.
        structlog.stdlib.ExtraAdder(),
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def configure_logging(*, level: str = "INFO", fmt: str = "auto") -> None:
    """Route structlog and the standard library (temporalio's loggers) through one renderer.

    Args:
        level: Root log level.
        fmt: ``json``, ``console`` or ``auto`` (console on a terminal, JSON otherwise).
    """
    global _configured
    if _configured:
        return
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    structlog.configure(
        processors=[*_shared(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = StderrHandler()
    handler.setFormatter(formatter(use_json=use_json))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    _configured = True
