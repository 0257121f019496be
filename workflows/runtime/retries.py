"""Activities a process cannot do without, run in bounded rounds so none stalls silently.

Every activity the runtime calls (engine writes and plan steps) runs in rounds of attempts.
A round used up marks the process stalled (stage ``stalled``, ``CareOverdue``, a case record,
the ``status`` query's ``problem``) and another round starts after :data:`STALL_PAUSE`, so a
restarted worker or a recovered database heals it; a non-retryable failure fails the process
visibly with ``StepFailed``. Histories from before the patch keep unbounded retries.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, NoReturn

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimeout

from careflow.models import ActivityName, RecordCaseInput
from workflows.runtime.calls import (
    ENGINE_RETRY,
    ENGINE_TIMEOUT,
    TEMPORAL_DEFAULT_RETRY,
    run_activity,
)
from workflows.runtime.process import ProcessCore
from workflows.runtime.state import StepProblem

__all__ = [
    "BOUNDED_RETRIES_PATCH",
    "ENGINE_ROUND",
    "FAILED_STAGE",
    "STALLED_STAGE",
    "STALL_PAUSE",
    "STEP_ROUND",
    "BoundedActivities",
]

#: Patch id of bounded retries: a step that keeps failing is shown as stalled and retried in
#: rounds; a step that can never succeed (non-retryable failure) fails the process visibly.
BOUNDED_RETRIES_PATCH = "careflow.runtime.bounded_retries"
#: One round of attempts of an engine activity (about four minutes of backoff).
ENGINE_ROUND = RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=10)
#: One round of attempts of a plan step's activity.
STEP_ROUND = RetryPolicy(maximum_interval=timedelta(seconds=60), maximum_attempts=10)
#: Pause between rounds of a stalled step: long enough for an operator to restart a worker.
STALL_PAUSE = timedelta(minutes=10)
#: Stage codes of a process whose step keeps failing or failed for good.
STALLED_STAGE = ("stalled", "步骤停滞 stalled step")
FAILED_STAGE = ("failed", "步骤失败 failed step")


class BoundedActivities(ProcessCore):
    """The runtime's activity calls: bounded rounds, a stalled step shown, a failed one fatal."""

    async def _engine(
        self, name: ActivityName, arg: BaseModel, *, summary: str, key: str = ""
    ) -> Any:
        return await self._activity(
            name, arg, key=key or str(name), summary=summary, timeout=ENGINE_TIMEOUT
        )

    async def _activity(
        self,
        name: str,
        arg: BaseModel,
        *,
        key: str,
        summary: str,
        timeout: timedelta,
        result_type: type | None = None,
        step: bool = False,
    ) -> Any:
        """Run an activity of the runtime or of a plan step; never retry it silently forever.

        Each round of attempts is bounded. When a round is used up the process shows the step
        as stalled (stage ``stalled``, ``CareOverdue``, a case record, the ``status`` query)
        and tries another round after :data:`STALL_PAUSE`, so a transient outage or a worker
        without the step's activity heals once fixed. A non-retryable failure (a value the
        database refuses, a business error) fails the process visibly instead.

        Args:
            name: Activity name.
            arg: Its input model.
            key: Step key of the call, named in the case record and ``status``.
            summary: Summary shown in the UI.
            timeout: Start-to-close timeout of one attempt.
            result_type: Type to convert the result to.
            step: Whether this is a plan step (its own, longer backoff).

        Raises:
            ApplicationError: ``StepFailed`` (non-retryable) when the activity failed for good.
        """
        if not workflow.patched(BOUNDED_RETRIES_PATCH):
            # Histories from before the patch: unbounded retries, as they were recorded.
            return await run_activity(
                name,
                arg,
                timeout=timeout,
                retry=TEMPORAL_DEFAULT_RETRY if step else ENGINE_RETRY,
                result_type=result_type,
                summary=summary,
            )
        rounds = 0
        while True:
            try:
                result = await run_activity(
                    name,
                    arg,
                    timeout=timeout,
                    retry=STEP_ROUND if step else ENGINE_ROUND,
                    result_type=result_type,
                    summary=summary,
                )
            except ActivityError as err:
                cause = err.cause
                if isinstance(cause, ApplicationError) and cause.non_retryable:
                    await self._fail_step(key, name, cause)
                if not isinstance(cause, ApplicationError | ActivityTimeout):
                    raise  # cancelled: not the step's fault
                rounds += 1
                await self._stall_step(key, name, cause, rounds)
                await workflow.sleep(STALL_PAUSE, summary=f"步骤停滞，稍后重试 retry stalled {key}")
                continue
            if rounds:
                self._recover_step()
            return result

    def _step_problem(
        self, key: str, name: str, cause: BaseException, *, state: str, rounds: int
    ) -> StepProblem:
        error_type = cause.type if isinstance(cause, ApplicationError) else None
        message = cause.message if isinstance(cause, ApplicationError | ActivityTimeout) else ""
        return StepProblem(
            step_key=key,
            activity=name,
            state=state,
            error_type=error_type or type(cause).__name__,
            message=message or str(cause),
            rounds=rounds,
        )

    async def _stall_step(self, key: str, name: str, cause: BaseException, rounds: int) -> None:
        """Show a step whose round of attempts failed; record it once per stall."""
        first = self._problem is None
        self._problem = self._step_problem(key, name, cause, state="stalled", rounds=rounds)
        if first:
            self._before_stall = (self._stage, self._stage_zh)
            self.stage(*STALLED_STAGE)
            self._refresh_overdue()
            await self._record_problem("step_stalled")
        else:
            self._refresh_details()

    def _recover_step(self) -> None:
        """The stalled step succeeded: back to the stage it stalled in."""
        self._problem = None
        self.stage(*self._before_stall)
        self._refresh_overdue()

    async def _fail_step(self, key: str, name: str, cause: ApplicationError) -> NoReturn:
        """End the process visibly: a step failed in a way no retry can fix."""
        self._problem = self._step_problem(key, name, cause, state="failed", rounds=1)
        self.stage(*FAILED_STAGE)
        self._refresh_overdue()
        await self._record_problem("step_failed")
        raise ApplicationError(
            f"步骤失败 step {key} failed ({name}): {self._problem.error_type}: "
            f"{self._problem.message}",
            self._problem.model_dump(mode="json"),
            type="StepFailed",
            non_retryable=True,
        )

    async def _record_problem(self, kind: str) -> None:
        """Write the problem to the case record, without stalling on the record itself."""
        problem = self._problem
        assert problem is not None
        try:
            await run_activity(
                ActivityName.RECORD_CASE,
                RecordCaseInput(
                    workflow_id=workflow.info().workflow_id,
                    step_key=f"{problem.step_key}.{kind}.{workflow.uuid4().hex[:8]}",
                    context=self.context,
                    kind=kind,
                    data=problem.model_dump(mode="json"),
                ),
                retry=ENGINE_ROUND,
                summary=f"记录 record: {kind}",
            )
        except ActivityError as err:
            # The database that refused the step may refuse the record too (the same case ref):
            # stage, CareOverdue and the workflow's failure still say what happened.
            workflow.logger.warning(
                "process.problem_not_recorded", extra={"kind": kind, "error": str(err.cause)}
            )
