"""A workflow module for the sandbox tests: its workflow says which copy of the module it runs.

Pure: it may be passed through the sandbox.
"""

from __future__ import annotations

from temporalio import workflow

__all__ = ["MARKER", "WhichModule"]

MARKER = object()
"""Made once per import of this module: a re-imported copy has another."""


@workflow.defn(name="tests.which_module")
class WhichModule:
    """Returns the id of the module copy its class was taken from."""

    @workflow.run
    async def run(self) -> int:
        return id(MARKER)
