"""The retention process 数据保留: one run per district, daily from its schedule.

A run (1) compares the namespace's history retention with the app's, (2) enters the district's
cases it does not know yet into the ledger, (3) goes through the ledger in batches: asks
Temporal about each open or due case and retains those closed longer ago than their purpose's
period, (4) writes what it did as audit rows and a case record, in counts. A dry run skips
(2), writes nothing, and also counts the cases a real run would enter first.

Deterministic: the run's time is ``workflow.now()`` when it starts, carried across
continue-as-new with the ledger cursor and the counts; every read and write is an activity.
The history holds codes, times and counts only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from careflow.models import ProcessInput
from plugins.privacy.models import (
    RETENTION_PROCESS,
    ActivityNames,
    ConsentInput,
    DiscoverInput,
    DiscoverResult,
    NamespaceCheck,
    NamespaceInput,
    PurposeReport,
    ReportInput,
    RetentionCarry,
    RetentionParams,
    RetentionRequest,
    RetentionResult,
    SweepInput,
    SweepResult,
    Tally,
)
from plugins.privacy.purposes import PURPOSE_CODES
from workflows.runtime import CareProcess, run_activity

__all__ = ["RetentionWorkflow", "run_actor"]

#: A batch is up to ``batch_size`` describes and transactions; minutes, not hours.
_BATCH_TIMEOUT = timedelta(minutes=10)
_SHORT_TIMEOUT = timedelta(minutes=1)
#: Bounded: a database or Temporal outage fails the run visibly (audited as failed); the next
#: day's run starts afresh and the ledger keeps everything done so far.
_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=60), maximum_attempts=10)
_LAUNCHER = "workflow:launch-"
#: Each case is one describe and one transaction: a batch that stops heartbeating is stuck.
_HEARTBEAT = timedelta(minutes=2)

ResultT = TypeVar("ResultT")


def run_actor(started_by: str) -> str:
    """Who a run acts for in the audit trail: ``schedule:<schedule id>`` or the account id."""
    if started_by.startswith(_LAUNCHER):
        return f"schedule:{started_by.removeprefix(_LAUNCHER)}"[:64]
    return started_by[:64]


@workflow.defn(name=RETENTION_PROCESS)
class RetentionWorkflow(CareProcess):
    """Delete or anonymise a district's closed cases past their retention period."""

    @workflow.run
    async def run(self, input: ProcessInput[RetentionRequest]) -> RetentionResult:
        self.begin(input)
        params = RetentionParams.model_validate(self.params)
        request = input.request
        carry = RetentionCarry.model_validate(input.carry)
        carry.runs += 1
        if carry.as_of is None:
            carry.as_of = workflow.now()
            carry.request_id = f"r{workflow.uuid4().hex[:16]}"
        as_of = carry.as_of
        purposes = request.purposes or list(PURPOSE_CODES)
        cutoffs = {p: as_of - params.period(p) for p in purposes}
        try:
            await self._check(carry, request)
            while carry.phase == "discover":
                self._enter("discover", "登记案件 listing cases")
                found: DiscoverResult = await self._call(
                    ActivityNames.DISCOVER,
                    DiscoverInput(
                        district=self.context.district, purposes=purposes, limit=params.batch_size
                    ),
                    DiscoverResult,
                    summary="登记本区案件 list the district's cases in the ledger",
                    timeout=_SHORT_TIMEOUT,
                )
                if found.done:
                    carry.phase = "ledger"
                await self._maybe_continue(carry, params)
            while carry.phase in ("ledger", "unlisted"):
                await self._sweep(carry, params, request, cutoffs)
                await self._maybe_continue(carry, params)
            while carry.phase == "consent":
                await self._consent(carry, params, request, purposes)
                await self._maybe_continue(carry, params)
        except ActivityError as err:
            # The error's type only: a message may quote what the failing step was reading.
            cause = err.cause
            problem = (
                cause.type or "ApplicationError"
                if isinstance(cause, ApplicationError)
                else type(cause or err).__name__
            )
            await self._report(carry, params, request, cutoffs, problem=problem[:64])
            raise ApplicationError(
                f"数据保留未完成 retention run failed: {problem[:64]}",
                type="RetentionFailed",
                non_retryable=True,
            ) from err
        self.stage("report", "汇总 reporting")
        result = await self._report(carry, params, request, cutoffs)
        self.stage("closed", "已完成 done")
        return result

    async def _check(self, carry: RetentionCarry, request: RetentionRequest) -> None:
        if carry.phase != "check":
            return
        self.stage("check", "核对历史保留期限 checking history retention")
        carry.namespace = await self._call(
            ActivityNames.CHECK_NAMESPACE,
            NamespaceInput(district=self.context.district),
            NamespaceCheck,
            summary="核对 Temporal 历史保留期限 compare namespace retention with the app's",
            timeout=_SHORT_TIMEOUT,
        )
        carry.phase = "ledger" if request.dry_run else "discover"

    async def _sweep(
        self,
        carry: RetentionCarry,
        params: RetentionParams,
        request: RetentionRequest,
        cutoffs: dict[str, datetime],
    ) -> None:
        phase = carry.phase
        assert phase in ("ledger", "unlisted") and carry.as_of is not None
        self._enter(
            "sweep" if phase == "ledger" else "preview",
            "核对并处理已结案案件 checking closed cases"
            if phase == "ledger"
            else "统计尚未登记的案件 counting unlisted cases",
        )
        key = f"sweep.{carry.batches}"
        done: SweepResult = await self._call(
            ActivityNames.SWEEP,
            SweepInput(
                run_id=workflow.info().workflow_id,
                step_key=key,
                district=self.context.district,
                as_of=carry.as_of,
                cutoffs=cutoffs,
                dry_run=request.dry_run,
                limit=params.batch_size,
                phase=phase,
                cursor=carry.cursor,
                source=carry.source,
                offset=carry.offset,
            ),
            SweepResult,
            summary=f"批次 batch {carry.batches + 1}: "
            + ("演练，不做修改 dry run, nothing changed" if request.dry_run else "删除或匿名化"),
            timeout=_BATCH_TIMEOUT,
        )
        carry.batches += 1
        carry.checked += done.checked
        carry.still_open += done.still_open
        carry.waiting += done.waiting
        for purpose, tally in done.tallies.items():
            carry.tallies.setdefault(purpose, Tally()).add(tally)
        carry.cursor, carry.source, carry.offset = done.cursor, done.source, done.offset
        if done.done:
            carry.phase = "unlisted" if request.dry_run and phase == "ledger" else "consent"
            carry.offset = 0

    async def _consent(
        self,
        carry: RetentionCarry,
        params: RetentionParams,
        request: RetentionRequest,
        purposes: list[str],
    ) -> None:
        assert carry.as_of is not None
        self._enter("consent", "撤回同意者的数据 data of withdrawn consents")
        key = f"consent.{carry.batches}"
        done: SweepResult = await self._call(
            ActivityNames.CONSENT,
            ConsentInput(
                run_id=workflow.info().workflow_id,
                step_key=key,
                district=self.context.district,
                as_of=carry.as_of,
                purposes=purposes,
                dry_run=request.dry_run,
                limit=params.batch_size,
                offset=carry.offset,
            ),
            SweepResult,
            summary=f"批次 batch {carry.batches + 1}: 已撤回同意 withdrawn consents",
            timeout=_BATCH_TIMEOUT,
        )
        carry.batches += 1
        carry.checked += done.checked
        carry.still_open += done.still_open
        for purpose, tally in done.tallies.items():
            carry.consent.setdefault(purpose, Tally()).add(tally)
        carry.offset = done.offset
        if done.done:
            carry.phase = "report"

    async def _report(
        self,
        carry: RetentionCarry,
        params: RetentionParams,
        request: RetentionRequest,
        cutoffs: dict[str, datetime],
        *,
        problem: str | None = None,
    ) -> RetentionResult:
        assert carry.as_of is not None
        reports = {
            purpose: PurposeReport(
                period=params.period(purpose),
                cutoff=cutoff,
                cases=carry.tallies[purpose].cases if purpose in carry.tallies else 0,
                rows=carry.tallies[purpose].rows if purpose in carry.tallies else {},
            )
            for purpose, cutoff in cutoffs.items()
        }
        await self._call(
            ActivityNames.REPORT,
            ReportInput(
                run_id=workflow.info().workflow_id,
                request_id=carry.request_id,
                district=self.context.district,
                actor=run_actor(self.context.started_by),
                dry_run=request.dry_run,
                outcome="failed" if problem else "accepted",
                purposes=reports,
                consent=carry.consent,
                checked=carry.checked,
                still_open=carry.still_open,
                waiting=carry.waiting,
                namespace=carry.namespace,
                problem=problem,
            ),
            int,
            summary="写入审计记录 audit what the run did",
            timeout=_SHORT_TIMEOUT,
        )
        result = RetentionResult(
            district=self.context.district,
            dry_run=request.dry_run,
            as_of=carry.as_of,
            purposes=reports,
            consent=carry.consent,
            checked=carry.checked,
            still_open=carry.still_open,
            waiting=carry.waiting,
            namespace=carry.namespace,
            runs=carry.runs,
        )
        if problem is None:
            await self.record(
                "report",
                "retention_run",
                {
                    "dry_run": request.dry_run,
                    "checked": carry.checked,
                    "still_open": carry.still_open,
                    "waiting": carry.waiting,
                    "cases": {p: r.cases for p, r in reports.items() if r.cases},
                    "consent": {p: t.cases for p, t in carry.consent.items() if t.cases},
                    "namespace_ok": carry.namespace.ok if carry.namespace else None,
                },
            )
        return result

    async def _call(
        self,
        name: str,
        arg: BaseModel,
        result_type: type[ResultT],
        *,
        summary: str,
        timeout: timedelta,
    ) -> ResultT:
        return await run_activity(
            name,
            arg,
            result_type=result_type,
            timeout=timeout,
            heartbeat=_HEARTBEAT if name == ActivityNames.SWEEP else None,
            retry=_RETRY,
            summary=summary,
        )

    def _enter(self, code: str, title_zh: str) -> None:
        # A stage is an upsert in the history: once per phase, not once per batch.
        if self._stage != code:
            self.stage(code, title_zh)

    async def _maybe_continue(self, carry: RetentionCarry, params: RetentionParams) -> None:
        if self.should_continue_as_new(max_history=params.max_history):
            await self.continue_as_new(carry.model_dump(mode="json"))
