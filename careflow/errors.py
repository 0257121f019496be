"""Errors that reach a user with a clear message."""

from __future__ import annotations

__all__ = ["CareflowError", "InputError", "PluginError"]


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
