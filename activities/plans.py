"""Plan resolution for processes started from inside a workflow (children, launchers)."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from careflow.errors import InputError
from careflow.models import ActivityName, ChildStart, ResolvePlanInput
from careflow.registry import PluginRegistry

__all__ = ["PlanActivities"]


class PlanActivities:
    """Resolves plans from the plugins this worker has loaded."""

    def __init__(self, registry: PluginRegistry) -> None:
        self._registry = registry

    @activity.defn(name=ActivityName.RESOLVE_PLAN)
    def resolve_plan(self, input: ResolvePlanInput) -> ChildStart:
        """The plan of a process about to start, with its workflow type and module."""
        try:
            spec = self._registry.process(input.process)
            plan = self._registry.resolve_plan(input.process, input.district)
        except InputError as err:
            raise ApplicationError(str(err), type="PlanNotResolved", non_retryable=True) from err
        return ChildStart(
            workflow_type=spec.workflow_type,
            module=spec.module,
            title_zh=spec.title_zh,
            plan=plan,
        )
