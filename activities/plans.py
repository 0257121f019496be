"""Plan resolution and case keys for processes started from inside a workflow (children,
launchers)."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from careflow.errors import InputError
from careflow.models import ActivityName, CaseKeysInput, ChildStart, ResolvePlanInput
from careflow.privacy.pseudonyms import Pseudonyms
from careflow.registry import PluginRegistry

__all__ = ["PlanActivities"]


class PlanActivities:
    """Resolves plans from the plugins this worker has loaded, and keys the cases of children.

    Workflows never hold the pseudonym key: a child's case key is made here, next to its plan.
    """

    def __init__(self, registry: PluginRegistry, *, pseudonyms: Pseudonyms) -> None:
        self._registry = registry
        self._pseudonyms = pseudonyms

    @activity.defn(name=ActivityName.RESOLVE_PLAN)
    def resolve_plan(self, input: ResolvePlanInput) -> ChildStart:
        """The plan of a process about to start, with its workflow type and module, and the
        key of its case ref when one is given."""
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
            case_key=(
                None if input.case_ref is None else self._pseudonyms.case_key(input.case_ref)
            ),
        )

    @activity.defn(name=ActivityName.CASE_KEYS)
    def case_keys(self, input: CaseKeysInput) -> list[str]:
        """The case key of each case ref, in order."""
        return [self._pseudonyms.case_key(ref) for ref in input.case_refs]
