"""Sharing modules with the workflow sandbox instead of re-importing them for every run.

Temporal's sandbox imports a workflow's module afresh for each workflow it creates, and with
it every module that one imports, unless the module is *passed through*: imported once, in
the worker, and shared. A process's first workflow task pays the re-import (for a module
defining its own pydantic models, a few milliseconds of CPU), so careflow passes through
its own pure modules (:data:`worker.main.PASSTHROUGH_MODULES`) and those a plugin declares
(:attr:`careflow.contract.CarePlugin.sandbox_passthrough`).

A passed-through module must be pure: no I/O and no clock at import, and no module state
that workflows change (it would be shared by every workflow the worker runs).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from temporalio.worker import WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

__all__ = ["MODULE_NAME", "passing_through"]

MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
"""A dotted module name (``acme_district.workflows``)."""


def passing_through(*modules: str) -> Callable[[WorkflowRunner | None], WorkflowRunner]:
    """A worker plugin's ``workflow_runner`` hook that passes ``modules`` through the sandbox.

    A runner other than the sandbox (none passes through anything) is kept as it is.
    """

    def adjust(runner: WorkflowRunner | None) -> WorkflowRunner:
        if runner is None:
            raise ValueError("passing modules through needs the worker's workflow runner")
        if isinstance(runner, SandboxedWorkflowRunner):
            return dataclasses.replace(
                runner, restrictions=runner.restrictions.with_passthrough_modules(*modules)
            )
        return runner

    return adjust
