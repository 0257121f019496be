"""The curtain appointment 窗帘之约: every morning each watched elder's paired volunteer checks
that the curtains are open.

One round per district fans out in batches: the round lists watched elders a page at a time
and starts one batch workflow per page. A batch holds its page's check tasks itself: it opens
them all with one activity (``CareProcess.open_tasks``), notifies the volunteers with one
more, and waits for the reports under one shared deadline timer. Opening thousands of checks
thus costs a few dozen activities instead of a workflow and an activity per elder (the dev
server managed ~16 check processes a second; issue 4 needs 5,000 in under 3 minutes).

Most checks end in the batch ("curtains open"). Closed curtains, or no report by the deadline,
start the elder's check process (``eldercare.curtain_check``) at the escalation: phone call →
door check by the grid worker → emergency: family and district told, and a green channel opened
for a disabled elder. Escalation is stepwise, never straight to the police. Staff may also start
a check process on its own; it then opens its own check task first.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal

from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from careflow.forms import form_ref
from careflow.models import (
    ChildStart,
    ProcessContext,
    ProcessInput,
    TaskOutcome,
    process_workflow_id,
)
from careflow.plan import EscalationLevel, TaskTemplate
from plugins.eldercare.contracts import GREEN_CHANNEL_PROCESS, GreenChannelRequest
from plugins.eldercare.curtain.forms import CallForm, CurtainCheckForm, DoorCheckForm
from plugins.eldercare.curtain.models import (
    BATCH_WORKFLOW,
    CHECK_PROCESS,
    AwayFileInput,
    AwayNoticeEvent,
    AwayQuery,
    AwayRequest,
    AwayResult,
    CurtainActivity,
    CurtainBatchInput,
    CurtainBatchResult,
    CurtainCheckParams,
    CurtainCheckRequest,
    CurtainCheckResult,
    CurtainOutcome,
    CurtainReportEvent,
    CurtainRoundParams,
    CurtainRoundRequest,
    CurtainRoundResult,
    ElderContacts,
    VolunteerNoticeInput,
    WatchEntry,
    WatchPage,
    WatchPageInput,
    batch_case_ref,
    check_case_ref,
)
from plugins.engine.roles import Role
from workflows.runtime import (
    BulkTask,
    CareProcess,
    TaskExpired,
    event_signal,
    resolve_process,
    run_activity,
    start_process,
)

__all__ = [
    "CurtainAwayWorkflow",
    "CurtainBatchWorkflow",
    "CurtainCheckWorkflow",
    "CurtainRoundWorkflow",
]


#: Batches from this patch on wait for their checks with one waiter
#: (``CareProcess.wait_tasks``) instead of one coroutine per elder: about 5 KB less a check.
_ONE_WAITER_PATCH = "curtain-batch-one-waiter"

#: The curtain's own activities have had two minutes from the start (a watch page holds a batch
#: of elders); kept, so their calls stay as they were recorded.
_PAGE_TIMEOUT = timedelta(minutes=2)


@workflow.defn(name="eldercare.curtain_round")
class CurtainRoundWorkflow(CareProcess):
    """One district's morning round: list watched elders, fan out checks in batches."""

    @workflow.run
    async def run(self, input: ProcessInput[CurtainRoundRequest]) -> CurtainRoundResult:
        self.begin(input)
        params = CurtainRoundParams.model_validate(self.params)
        local = timezone(timedelta(hours=params.utc_offset_hours))
        day: date = input.request.day or workflow.now().astimezone(local).date()
        due_by = workflow.now() + params.report_within
        district = self.context.district

        self.stage("fanning_out", "分批发起窗帘查看 fanning out the morning checks")
        # Resolve the checks' plan once for the whole round instead of once per elder.
        check = await resolve_process(CHECK_PROCESS, district=district)
        # From the input, not workflow.info(): batch inputs must not change when a history is
        # replayed under another workflow id.
        wf_id = process_workflow_id(self.context.process, district, self.visible_ref)
        batches = started = 0
        watched = suppressed = 0
        after: str | None = None
        while True:
            page = await run_activity(
                CurtainActivity.LIST_WATCHED,
                WatchPageInput(district=district, day=day, after=after, limit=params.batch_size),
                result_type=WatchPage,
                summary=f"列出被关注老人 list watched elders (page {batches + 1})",
                timeout=_PAGE_TIMEOUT,
            )
            watched += len(page.entries) + page.suppressed
            suppressed += page.suppressed
            if page.entries:
                batches += 1
                if await self._start_batch(wf_id, batches, day, due_by, check, page.entries):
                    started += len(page.entries)
            if page.done or page.last is None:
                break
            after = page.last
        result = CurtainRoundResult(
            day=day,
            watched=watched,
            suppressed=suppressed,
            checks_started=started,
            batches=batches,
        )
        await self.record("round", "curtain_round", result.model_dump(mode="json"))
        # The round ends once its batches run: each batch holds its checks until the deadline.
        self.stage(
            "checks_open",
            f"已发起 {started} 项查看 checks open · 外出报备 {suppressed} away",
        )
        return result

    async def _start_batch(
        self,
        wf_id: str,
        number: int,
        day: date,
        due_by: datetime,
        check: ChildStart,
        entries: list[WatchEntry],
    ) -> bool:
        """Start batch ``number``; ``False`` if a round of the same day already started it."""
        batch_ref = batch_case_ref(day, number)
        try:
            await workflow.start_child_workflow(
                CurtainBatchWorkflow.run,
                CurtainBatchInput(
                    round_workflow_id=wf_id,
                    batch_ref=batch_ref,
                    district=self.context.district,
                    day=day,
                    due_by=due_by,
                    check=check,
                    entries=entries,
                ),
                id=process_workflow_id(BATCH_WORKFLOW, self.context.district, batch_ref),
                static_summary=(
                    f"窗帘之约批次 curtain batch {number} · {len(entries)} 位老人 elders"
                ),
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            return False  # a re-run round on the same day: those checks are already open
        return True


@workflow.defn(name=BATCH_WORKFLOW)
class CurtainBatchWorkflow(CareProcess):
    """One page of a round's checks, held as bulk tasks; escalations become check processes."""

    @workflow.run
    async def run(self, input: CurtainBatchInput) -> CurtainBatchResult:
        # The batch's tasks belong to the check process in the inbox; its own case ref is the
        # batch's, each task shows the elder's check case ref.
        self.begin(
            ProcessInput[Any](
                context=ProcessContext(
                    process=CHECK_PROCESS,
                    module=input.check.module,
                    district=input.district,
                    case_ref=input.batch_ref,
                    started_by=f"workflow:{input.round_workflow_id}",
                    parent_workflow_id=input.round_workflow_id,
                ),
                plan=input.check.plan,
                request=input,
            )
        )
        self.stage("opening", f"批量开查看工单 opening {len(input.entries)} checks")
        # One due time for the whole batch: the runtime keeps one timer for it.
        check = _check_template(max(input.due_by - workflow.now(), timedelta(minutes=1)))
        task_ids = await self.open_tasks(
            [
                BulkTask(
                    key=_check_key(entry.elder_ref, input.day),
                    template=check,
                    community=entry.community,
                    case_ref=check_case_ref(entry.elder_ref, input.day),
                )
                for entry in input.entries
            ]
        )
        await run_activity(
            CurtainActivity.NOTIFY_VOLUNTEERS,
            VolunteerNoticeInput(
                workflow_id=workflow.info().workflow_id,
                district=input.district,
                day=input.day,
                due_by=input.due_by,
                entries=input.entries,
                batch_ref=input.batch_ref,
            ),
            result_type=int,
            summary=f"通知结对志愿者 notify {len(input.entries)} volunteers",
            timeout=_PAGE_TIMEOUT,
        )
        self.stage("awaiting_reports", "等待窗帘反馈 awaiting the curtain reports")
        if workflow.patched(_ONE_WAITER_PATCH):
            entries = dict(zip(task_ids, input.entries, strict=True))

            async def follow_up(task_id: str, report: TaskOutcome | None) -> bool:
                return await self._follow_up(input, entries[task_id], report)

            outcomes = await self.wait_tasks(task_ids, follow_up)
        else:
            outcomes = await asyncio.gather(
                *(
                    self._follow(input, entry, task_id)
                    for entry, task_id in zip(input.entries, task_ids, strict=True)
                )
            )
        escalated = sum(1 for open_ in outcomes if not open_)
        self.stage("done", f"已结束 done · 升级 {escalated} escalated")
        return CurtainBatchResult(
            opened=len(task_ids), curtains_open=len(outcomes) - escalated, escalated=escalated
        )

    async def _follow(self, input: CurtainBatchInput, entry: WatchEntry, task_id: str) -> bool:
        """Wait for one elder's report alone, then :meth:`_follow_up` (batches before the
        one-waiter patch)."""
        try:
            report: TaskOutcome | None = await self.wait_task(task_id)
        except TaskExpired:
            report = None
        return await self._follow_up(input, entry, report)

    async def _follow_up(
        self, input: CurtainBatchInput, entry: WatchEntry, report: TaskOutcome | None
    ) -> bool:
        """Start the elder's check process at the escalation unless curtains are open.

        Args:
            report: The closed check task's outcome; ``None`` if nobody reported in time.

        Returns:
            Whether the curtains were reported open.
        """
        if report is None:
            seen: Literal["closed", "none"] = "none"
            by = None
        else:
            if CurtainCheckForm.model_validate(report.data).curtains == "open":
                return True
            seen, by = "closed", report.actor
        request = CurtainCheckRequest(
            elder_ref=entry.elder_ref,
            volunteer_ref=entry.volunteer_ref,
            day=input.day,
            due_by=input.due_by,
            report=seen,
            reported_by=by,
        )
        try:
            # The round resolved the check's plan once; the watch list keyed each check (for a
            # batch listed before case keys, the runtime asks for the key).
            await start_process(
                CHECK_PROCESS,
                district=input.district,
                community=entry.community,
                case_ref=check_case_ref(entry.elder_ref, input.day),
                request=request,
                resolved=input.check,
                case_key=entry.case_key,
                started_by=f"workflow:{input.round_workflow_id}",
            )
        except WorkflowAlreadyStartedError:
            pass  # staff already started this elder's check today: it carries on
        return False

    @event_signal(name="curtain_report")
    def curtain_report(self, event: CurtainReportEvent) -> None:
        """A volunteer's report for one of the batch's checks (routed by ``batch_ref``)."""
        self.complete_from_event(
            f"check.{event.case_ref}",
            actor=f"volunteer:{event.reporter_ref}",
            data={"curtains": event.curtains},
        )


def _check_key(elder_ref: str, day: date) -> str:
    # The report's case ref names the check: the batch finds the task from it directly.
    return f"check.{check_case_ref(elder_ref, day)}"


def _check_template(due: timedelta) -> TaskTemplate:
    return _template(
        Role.VOLUNTEER,
        "窗帘之约：查看今早窗帘",
        "Curtain check: are the curtains open this morning?",
        CurtainCheckForm,
        due,
    )


def _template(
    role: str, title_zh: str, title_en: str, form: type, due: timedelta, *esc: tuple[str, timedelta]
) -> TaskTemplate:
    return TaskTemplate(
        role=role,
        title_zh=title_zh,
        title_en=title_en,
        form_ref=form_ref(form),
        due=due,
        escalation=[EscalationLevel(role=r, due=d) for r, d in esc],
    )


@workflow.defn(name="eldercare.curtain_check")
class CurtainCheckWorkflow(CareProcess):
    """One elder's check on one morning, with stepwise escalation."""

    @workflow.run
    async def run(self, input: ProcessInput[CurtainCheckRequest]) -> CurtainCheckResult:
        self.begin(input)
        request = input.request
        params = CurtainCheckParams.model_validate(self.params)
        if request.report == "closed":  # seen by the batch that held the check
            await self.record("report", "curtains_closed", {"by": request.reported_by})
        elif request.report == "none":
            await self.record("report", "no_report", {})
        else:
            outcome = await self._check(request, params)
            if outcome is not None:
                return outcome
        if await run_activity(
            CurtainActivity.IS_AWAY,
            AwayQuery(elder_ref=request.elder_ref, day=request.day),
            result_type=bool,
            summary="核对外出报备 check away notices",
            timeout=_PAGE_TIMEOUT,
        ):
            await self.record("away", "away_notice", {})
            return self._close(CurtainOutcome.AWAY, "已报备外出 away")

        self.stage("calling", "电话联系老人 calling the elder")
        call = _template(
            Role.VOLUNTEER,
            "窗帘之约：电话联系老人",
            "Curtain check: call the elder",
            CallForm,
            params.call_due,
            (Role.COMMUNITY_STAFF, params.call_escalation_due),
        )
        try:
            answer = CallForm.model_validate((await self.human_task("call", call)).data)
        except TaskExpired:
            await self.record("call", "call_unanswered", {"expired": True})
        else:
            if answer.reached and answer.elder_ok:
                await self.record("call", "reached_by_phone", {})
                return self._close(CurtainOutcome.REACHED_BY_PHONE, "电话联系正常 reached")
            await self.record("call", "call_unanswered", {"reached": answer.reached})

        self.stage("door_check", "网格员上门查看 door check by the grid worker")
        door = _template(
            Role.GRID_WORKER,
            "窗帘之约：上门查看",
            "Curtain check: knock at the door",
            DoorCheckForm,
            params.door_due,
            (Role.COMMUNITY_STAFF, params.door_escalation_due),
        )
        try:
            finding = DoorCheckForm.model_validate((await self.human_task("door", door)).data)
        except TaskExpired:
            finding = DoorCheckForm(finding="no_response", note="door check expired")
        await self.record("door", f"door_{finding.finding}", {})
        if finding.finding == "fine":
            return self._close(CurtainOutcome.FINE_AT_DOOR, "上门查看正常 fine")
        if finding.finding == "away":
            return self._close(CurtainOutcome.AWAY, "上门确认外出 away")
        return await self._emergency(request)

    async def _check(
        self, request: CurtainCheckRequest, params: CurtainCheckParams
    ) -> CurtainCheckResult | None:
        """A check started on its own opens its check task; ``None`` unless curtains are open."""
        self.stage("awaiting_report", "等待窗帘反馈 awaiting the curtain report")
        due = (
            max(request.due_by - workflow.now(), timedelta(minutes=1))
            if request.due_by is not None
            else params.report_within
        )
        try:
            report = await self.human_task("check", _check_template(due))
        except TaskExpired:
            await self.record("report", "no_report", {})
        else:
            if CurtainCheckForm.model_validate(report.data).curtains == "open":
                return self._close(CurtainOutcome.OPEN, "窗帘已拉开 curtains open")
            await self.record("report", "curtains_closed", {"by": report.actor})
        return None

    async def _emergency(self, request: CurtainCheckRequest) -> CurtainCheckResult:
        """Tell the family and the district; open a green channel for a disabled elder."""
        self.stage("emergency", "紧急处置 emergency")
        contacts = await run_activity(
            CurtainActivity.ELDER_CONTACTS,
            request.elder_ref,
            result_type=ElderContacts,
            summary="查询紧急联系人",
            timeout=_PAGE_TIMEOUT,
        )
        for n, ref in enumerate(contacts.family_refs or [f"role:{Role.COMMUNITY_STAFF.value}"]):
            await self.notify(
                f"emergency.family.{n}",
                recipient_ref=ref,
                template="curtain_emergency_family",
                body_zh="窗帘之约：老人今早未回应查看，社区已启动紧急处置，请尽快联系社区。",
            )
        await self.notify(
            "emergency.district",
            recipient_ref=f"role:{Role.DISTRICT_ADMIN.value}",
            template="curtain_emergency_district",
            body_zh="窗帘之约：一位独居老人未回应电话与上门查看，已启动紧急处置。",
            params={"case_ref": self.context.case_ref},
        )
        green: str | None = None
        if contacts.disability_level > 0:
            handle = await self.start_child(
                GREEN_CHANNEL_PROCESS,
                request=GreenChannelRequest(
                    elder_ref=request.elder_ref,
                    source="curtain_check",
                    source_ref=workflow.info().workflow_id,
                ).model_dump(mode="json"),
                case_ref=f"{self.context.case_ref}.gc",
                community=contacts.community,
            )
            green = handle.id
        await self.record("emergency", "curtain_emergency", {"green_channel": green})
        self.stage("emergency", "紧急处置已启动 emergency raised")
        return CurtainCheckResult(outcome=CurtainOutcome.EMERGENCY, green_channel_workflow_id=green)

    def _close(self, outcome: CurtainOutcome, title: str) -> CurtainCheckResult:
        self.stage("closed", f"已结束 closed: {title}")
        return CurtainCheckResult(outcome=outcome)

    @event_signal(name="curtain_report")
    def curtain_report(self, event: CurtainReportEvent) -> None:
        """The volunteer's report (routed from ``eldercare.curtain_report``)."""
        self.complete_from_event(
            "check", actor=f"volunteer:{event.reporter_ref}", data={"curtains": event.curtains}
        )


@workflow.defn(name="eldercare.curtain_away")
class CurtainAwayWorkflow(CareProcess):
    """File an "away until" notice 外出报备 that suppresses curtain checks meanwhile."""

    @workflow.run
    async def run(self, input: ProcessInput[AwayRequest]) -> AwayResult:
        self.begin(input)
        notice_id = await run_activity(
            CurtainActivity.FILE_AWAY,
            AwayFileInput(
                workflow_id=workflow.info().workflow_id,
                step_key="notice",
                district=self.context.district,
                notice=input.request,
            ),
            result_type=int,
            summary="登记外出报备 file the away notice",
            timeout=_PAGE_TIMEOUT,
        )
        await self.record(
            "notice",
            "away_notice_filed",
            {
                "notice_id": notice_id,
                "away_from": input.request.away_from.isoformat(),
                "away_until": input.request.away_until.isoformat(),
                "filed_by": input.request.filed_by,
            },
        )
        self.stage("filed", f"已报备至 {input.request.away_until:%Y-%m-%d} away until")
        return AwayResult(notice_id=notice_id)

    @event_signal(name="away_notice")
    def away_notice(self, event: AwayNoticeEvent) -> None:
        """The notice as an event; the process request already carries it (signal-with-start)."""
        del event
