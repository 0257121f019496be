"""Errors that reach a user with a clear message."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from pydantic import ValidationError

__all__ = [
    "CareflowError",
    "InputError",
    "PayloadError",
    "PluginError",
    "format_loc",
    "format_validation_error",
]

_PLAIN_KEY = re.compile(r"^[\w-]+$")


def format_loc(parts: Iterable[object]) -> str:
    """A field path such as ``items.0.quantity``; odd keys quoted, so it stays one line."""
    return ".".join(
        str(p) if isinstance(p, int) or _PLAIN_KEY.match(str(p)) else json.dumps(str(p))
        for p in parts
    )


def format_validation_error(err: ValidationError, *, prefix: str = "") -> str:
    """One ``field.path: message`` per failing field, joined with ``; ``."""
    parts = []
    for item in err.errors():
        loc = format_loc(item["loc"])
        where = f"{prefix}.{loc}" if prefix and loc else (prefix or loc or "(root)")
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


class CareflowError(Exception):
    """Base of careflow's user-facing errors."""


class PluginError(CareflowError):
    """A plugin that cannot be loaded or does not validate.

    The message always starts with the plugin's name, so the one line a worker or the CLI
    prints on start-up tells an admin which plugin to fix.
    """

    def __init__(self, plugin: str, problem: str) -> None:
        super().__init__(f"plugin {plugin!r}: {problem}")
        self.plugin = plugin
        self.problem = problem


class InputError(CareflowError):
    """Bad input from a user or a caller, naming the field or the rule that failed."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class PayloadError(InputError):
    """A JSON payload that does not validate, naming every failing field under ``prefix``.

    Printed as ``input.items: Field required; input.recipient_ref: Field required`` so the
    user sees the full path of each field inside the file they passed; ``field`` is the first.
    """

    def __init__(self, prefix: str, err: ValidationError) -> None:
        errors = err.errors()
        loc = format_loc(errors[0]["loc"]) if errors else ""
        problem = str(errors[0]["msg"]) if errors else str(err)
        super().__init__(f"{prefix}.{loc}" if loc else prefix, problem)
        self.message = format_validation_error(err, prefix=prefix)

    def __str__(self) -> str:
        return self.message
