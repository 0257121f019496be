"""The plugins the suite means: this repository's own, imported by name, never discovered.

Tests build every registry from these (or fewer), and every ``careflow`` command a test runs
(in process or as a subprocess) loads only these through ``CAREFLOW_PLUGINS``
(``worker.testing.cli_environment`` narrows it to a test's own registry), so a plugin
installed in the same environment (the README's example, a district's own package) changes
no plan, no worker and no schema the suite checks.
"""

from __future__ import annotations

from temporalio import workflow

from careflow.contract import CarePlugin
from plugins.childcare import plugin as childcare
from plugins.eldercare import plugin as eldercare
from plugins.engine import plugin as engine
from plugins.privacy import plugin as privacy
from plugins.reports import plugin as reports
from plugins.wanbailin import plugin as wanbailin
from plugins.xiaodian import plugin as xiaodian
from plugins.xinghualing import plugin as xinghualing
from plugins.yingze import plugin as yingze

# Test modules that define workflows import this one, and the sandbox re-imports them: the
# test support (composition, with I/O at import) comes in passed through.
with workflow.unsafe.imports_passed_through():
    from worker.testing import PLUGINS_ENV

__all__ = ["BUILT_IN", "PLUGINS_ENV", "built_in_names"]

BUILT_IN: tuple[CarePlugin, ...] = (
    engine,
    childcare,
    eldercare,
    xinghualing,
    wanbailin,
    yingze,
    xiaodian,
    privacy,
    reports,
)
"""Every plugin this repository ships (its ``careflow.plugins`` entry points)."""


def built_in_names() -> str:
    """``CAREFLOW_PLUGINS`` for every built-in plugin."""
    return ",".join(plugin.name for plugin in BUILT_IN)
