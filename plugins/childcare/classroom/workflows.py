"""The five-thirty classroom 五点半课堂: a daily after-school session per community.

check-in 点名签到 (volunteer, escalating to community staff) → children wait until a guardian
collects them; each hand-over goes only to a guardian the registry authorises for pickup and is
recorded → a child still there ``late_after`` the end gets a call task (volunteer, escalating to
community staff; the last deadline tells the district) → the session closes when every child is
collected or ``final_wait`` after the end, recording any child never collected.

A scheduled ``childcare.classroom_day`` per district starts one session per community with
enrolled children on school days.

Consent: the roster holds only children whose guardian's consent for the classroom counts that
day; enrolled children left out are recorded (``consent_missing``) and staff told (patch
``consent-checks``). A withdrawal heard during a session is recorded and staff told; a child
already in the room is still handed over only to an authorised guardian (their safety comes
first), and the next session's roster leaves them out.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from careflow.forms import form_ref
from careflow.localtime import STAFF_TIMEZONE
from careflow.models import ProcessInput
from careflow.plan import EscalationLevel, TaskTemplate
from careflow.privacy.withdrawal import CONSENT_WITHDRAWN_SIGNAL, ConsentWithdrawn
from plugins.childcare.classroom.forms import CallForm, CheckInForm
from plugins.childcare.classroom.models import (
    ChildPickup,
    ClassroomDayRequest,
    ClassroomDayResult,
    ClassroomParams,
    ClassroomRequest,
    ClassroomResult,
    CommunitiesInput,
    Handover,
    HandoverEvent,
    HandoverRequest,
    Roster,
    RosterInput,
    SessionOutcome,
)
from plugins.childcare.consent import CONSENT_PATCH
from plugins.engine.roles import Role
from workflows.runtime import (
    TEMPORAL_DEFAULT_RETRY,
    CareProcess,
    TaskExpired,
    event_signal,
    run_activity,
)

__all__ = ["CLASSROOM_DAY_POINTS", "ClassroomDayWorkflow", "ClassroomWorkflow"]

CLASSROOM_DAY_POINTS = ("after_sessions_started",)


def _check_in_task(params: ClassroomParams) -> TaskTemplate:
    return TaskTemplate(
        role=Role.VOLUNTEER,
        title_zh="课堂点名签到 classroom check-in",
        title_en="Check in the children present",
        form_ref=form_ref(CheckInForm),
        due=params.check_in_due,
        escalation=[EscalationLevel(role=Role.COMMUNITY_STAFF, due=params.check_in_escalation_due)],
    )


def _call_task(params: ClassroomParams) -> TaskTemplate:
    return TaskTemplate(
        role=Role.VOLUNTEER,
        title_zh="孩子未被接走，致电监护人 call the guardian",
        title_en="A child has not been collected: call the guardian",
        form_ref=form_ref(CallForm),
        due=params.call_due,
        escalation=[EscalationLevel(role=Role.COMMUNITY_STAFF, due=params.call_escalation_due)],
    )


@workflow.defn(name="childcare.classroom")
class ClassroomWorkflow(CareProcess):
    """One session: check-in, authorised hand-overs, calls for late pickups, report."""

    def __init__(self) -> None:
        super().__init__()
        self._present: dict[str, ChildPickup] = {}
        self._collected: dict[str, Handover] = {}
        self._calling: set[str] = set()
        self._late: set[str] = set()
        self._checked_in = False
        self._closed = False
        self._refused = 0
        self._ends_at: datetime | None = None
        self._roster: set[str] = set()
        self._withdrawn: set[str] = set()

    # -- hand-over: an Update for clients, the same as a routed event for the CLI

    def _handover_problem(self, child_ref: str, guardian_ref: str) -> tuple[str, str] | None:
        if self._closed:
            return "SessionClosed", "the session is closed"
        if not self._checked_in:
            return "NotCheckedIn", "check-in is not recorded yet"
        child = self._present.get(child_ref)
        if child is None:
            return "NotPresent", f"{child_ref} is not in today's session"
        if child_ref in self._collected:
            return "AlreadyCollected", f"{child_ref} was already handed over"
        if guardian_ref not in child.authorised:
            # The rule the classroom exists for: nobody else takes a child home.
            return "UnauthorisedPickup", f"{guardian_ref} is not authorised to collect {child_ref}"
        return None

    async def _hand_over(self, child_ref: str, guardian_ref: str, actor: str, via: str) -> Handover:
        now = workflow.now()
        ends_at = self._ends_at or now
        handover = Handover(
            child_ref=child_ref,
            guardian_ref=guardian_ref,
            actor=actor,
            at=now,
            minutes_after_end=round((now - ends_at).total_seconds() / 60, 1),
        )
        self._collected[child_ref] = handover
        if child_ref in self._calling:
            self._late.add(child_ref)
            # The pickup answers the open call task, so nobody keeps calling.
            self.complete_from_event(
                f"call.{child_ref}",
                actor=f"handover:{actor}",
                data={"reached": True, "resolved_by_pickup": True},
            )
        await self.record(
            f"handover.{child_ref}",
            "child_handed_over",
            {**handover.model_dump(mode="json"), "via": via},
        )
        return handover

    @workflow.update(name="hand_over")
    async def hand_over(self, request: HandoverRequest) -> Handover:
        """Hand a present child to an authorised guardian; recorded."""
        return await self._hand_over(
            request.child_ref, request.guardian_ref, request.actor, "update"
        )

    @hand_over.validator
    def _validate_hand_over(self, request: HandoverRequest) -> None:
        problem = self._handover_problem(request.child_ref, request.guardian_ref)
        if problem:
            raise ApplicationError(problem[1], type=problem[0])

    @event_signal(name="handover_event")
    async def handover_event(self, event: HandoverEvent) -> None:
        """A desk hand-over routed by ``careflow event``; a refused pickup alerts the staff."""
        problem = self._handover_problem(event.child_ref, event.guardian_ref)
        if problem is None:
            await self._hand_over(event.child_ref, event.guardian_ref, event.actor, "event")
            return
        self._refused += 1
        await self.record(
            f"pickup_refused.{self._refused}",
            "pickup_refused",
            {
                "child_ref": event.child_ref,
                "guardian_ref": event.guardian_ref,
                "actor": event.actor,
                "reason": problem[0],
            },
        )
        if problem[0] == "UnauthorisedPickup":
            await self.notify(
                f"pickup_refused.{self._refused}",
                recipient_ref=f"role:{Role.COMMUNITY_STAFF.value}",
                template="classroom_pickup_refused",
                body_zh="五点半课堂：有未经授权人员尝试接走孩子，已拒绝交接，请核实。",
                params={"child_ref": event.child_ref},
            )

    @workflow.signal(name=CONSENT_WITHDRAWN_SIGNAL)
    async def consent_withdrawn(self, signal: ConsentWithdrawn) -> None:
        """A guardian withdrew the classroom consent of a child on today's roster."""
        ref = signal.subject_ref
        if signal.purpose != "classroom" or ref not in self._roster or ref in self._withdrawn:
            return
        self._withdrawn.add(ref)
        in_care = ref in self._present and ref not in self._collected and not self._closed
        await self.record(
            f"consent_withdrawn.{ref}",
            "consent_withdrawn",
            {
                "purpose": "classroom",
                "child_ref": ref,
                "in_care": in_care,
                "consent_id": signal.consent_id,
                "request_id": signal.request_id,
                "reason_zh": "监护人已撤回同意（五点半课堂）",
            },
        )
        body = (
            "五点半课堂：监护人已撤回同意。孩子今天仍须交给授权监护人，此后不再列入课堂名单。"
            if in_care
            else "五点半课堂：监护人已撤回同意，孩子此后不再列入课堂名单。"
        )
        await self.notify(
            f"consent_withdrawn.{ref}",
            recipient_ref=f"role:{Role.COMMUNITY_STAFF.value}",
            template="consent_withdrawn",
            body_zh=body,
            params={"purpose": "classroom", "child_ref": ref, "in_care": in_care},
        )

    # -- the session

    def _all_collected(self) -> bool:
        return all(ref in self._collected for ref in self._present)

    @workflow.run
    async def run(self, input: ProcessInput[ClassroomRequest]) -> ClassroomResult:
        self.begin(input)
        params = ClassroomParams.model_validate(self.params)
        community = self.context.community
        if community is None:
            raise ApplicationError("a classroom session needs a community", non_retryable=True)
        self._ends_at = ends_at = input.request.ends_at or workflow.now() + params.session_length

        self.stage("roster", "读取名单 roster")
        roster: Roster = await run_activity(
            "childcare.classroom.roster",
            RosterInput(community=community, on=workflow.now().astimezone(STAFF_TIMEZONE).date()),
            result_type=Roster,
            retry=TEMPORAL_DEFAULT_RETRY,
            summary="读取课堂名单 read the roster",
        )
        self._roster = {c.child_ref for c in roster.children}
        if roster.without_consent and workflow.patched(CONSENT_PATCH):
            await self.record(
                "consent_missing",
                "consent_missing",
                {
                    "purpose": "classroom",
                    "children": roster.without_consent,
                    "reason_zh": "未登记监护人同意（五点半课堂），今日未列入名单",
                },
            )
            await self.notify(
                "consent_missing",
                recipient_ref=f"role:{Role.COMMUNITY_STAFF.value}",
                template="consent_missing",
                body_zh=f"五点半课堂：{len(roster.without_consent)} 名已报名儿童"
                "未登记监护人同意书，今日未列入名单；请登记同意。",
                params={"purpose": "classroom", "children": len(roster.without_consent)},
            )
        result = ClassroomResult(outcome=SessionOutcome.NO_CHILDREN, enrolled=len(roster.children))
        if not roster.children:
            return await self._close(result)

        self.stage("check_in", "点名签到 check-in")
        by_ref = {c.child_ref: c for c in roster.children}
        try:
            outcome = await self.human_task("check_in", _check_in_task(params))
        except TaskExpired:
            # Nobody said who came: treat every enrolled child as present, so that each one
            # still needs a recorded hand-over. Missing a child is worse than an extra call.
            present, unknown, by = list(by_ref), [], None
            result.check_in_missing = True
        else:
            form = CheckInForm.model_validate(outcome.data)
            present = [ref for ref in form.present if ref in by_ref]
            unknown = [ref for ref in form.present if ref not in by_ref]
            by = outcome.actor
        self._present = {ref: by_ref[ref] for ref in present}
        self._checked_in = True
        absent = [ref for ref in by_ref if ref not in self._present]
        result.present = len(present)
        await self.record(
            "check_in",
            "classroom_check_in",
            {"present": present, "absent": absent, "not_enrolled": unknown, "by": by},
        )
        for ref in absent:
            for guardian in by_ref[ref].guardians:
                await self.notify(
                    f"absent.{ref}.{guardian}",
                    recipient_ref=guardian,
                    template="classroom_absent",
                    body_zh="五点半课堂：孩子今天未到课堂，请确认孩子的去向。",
                    params={"child_ref": ref},
                )
        await self.extension_point("after_check_in", {"present": present})

        self.stage("handover", "等待家长接孩子 hand-over")
        late_at = ends_at + params.late_after
        await self._wait_all_collected(late_at, "等待家长接走 until the late mark")
        late = [ref for ref in self._present if ref not in self._collected]
        if late:
            self.stage("late_pickup", "超时未接 late pickup")
            await asyncio.gather(*(self._call(ref, params) for ref in late))
            await self._wait_all_collected(ends_at + params.final_wait, "最终等待 final wait")

        result.not_collected = [ref for ref in self._present if ref not in self._collected]
        for ref in result.not_collected:
            await self.record(f"not_collected.{ref}", "child_not_collected", {"child_ref": ref})
        if result.not_collected:
            await self.notify(
                "not_collected",
                recipient_ref=f"role:{Role.DISTRICT_ADMIN.value}",
                template="classroom_not_collected",
                body_zh="五点半课堂：课堂已结束，仍有孩子未被监护人接走，请立即跟进。",
                params={"children": len(result.not_collected)},
            )
        await self.extension_point(
            "after_handover", {"collected": list(self._collected), "late": sorted(self._late)}
        )
        result.outcome = (
            SessionOutcome.NOT_ALL_COLLECTED
            if result.not_collected
            else SessionOutcome.ALL_COLLECTED
        )
        return await self._close(result)

    async def _wait_all_collected(self, until: datetime, summary: str) -> None:
        try:
            await workflow.wait_condition(
                self._all_collected,
                timeout=max(until - workflow.now(), timedelta(seconds=1)),
                timeout_summary=summary,
            )
        except TimeoutError:
            pass

    async def _call(self, child_ref: str, params: ClassroomParams) -> None:
        """The call task of one late child; its last deadline tells the district."""
        self._calling.add(child_ref)
        try:
            outcome = await self.human_task(f"call.{child_ref}", _call_task(params))
        except TaskExpired:
            await self.record(
                f"call.{child_ref}", "guardian_call_expired", {"child_ref": child_ref}
            )
            if child_ref not in self._collected:
                await self.notify(
                    f"call_expired.{child_ref}",
                    recipient_ref=f"role:{Role.DISTRICT_ADMIN.value}",
                    template="classroom_call_expired",
                    body_zh="五点半课堂：孩子超时未被接走，且未能联系到监护人，请跟进。",
                    params={"child_ref": child_ref},
                )
        else:
            await self.record(
                f"call.{child_ref}",
                "guardian_called",
                {"child_ref": child_ref, "by": outcome.actor, **outcome.data},
            )
        finally:
            self._calling.discard(child_ref)

    async def _close(self, result: ClassroomResult) -> ClassroomResult:
        self._closed = True
        # Hand-overs that were being recorded when the session closed finish first.
        await workflow.wait_condition(workflow.all_handlers_finished)
        result.handovers = list(self._collected.values())
        result.late = sorted(self._late)
        result.refused_pickups = self._refused
        self.stage("closed", "已结束 closed")
        await self.extension_point("before_close", {"outcome": result.outcome.value})
        await self.record("report", "classroom_report", result.model_dump(mode="json"))
        return result


@workflow.defn(name="childcare.classroom_day")
class ClassroomDayWorkflow(CareProcess):
    """A school day in a district: one session per community with enrolled children."""

    @workflow.run
    async def run(self, input: ProcessInput[ClassroomDayRequest]) -> ClassroomDayResult:
        self.begin(input)
        self.stage("starting", "开课 starting sessions")
        communities: list[str] = await run_activity(
            "childcare.classroom.communities",
            CommunitiesInput(district=self.context.district),
            result_type=list[str],
            retry=TEMPORAL_DEFAULT_RETRY,
            summary="有课堂的社区 communities with a classroom",
        )
        sessions = []
        for community in communities:
            local = community.removeprefix(f"{self.context.district}.")
            handle = await self.start_child(
                "childcare.classroom",
                request={},
                case_ref=f"{self.context.case_ref}.{local}",
                community=community,
            )
            sessions.append(handle.id)
        await self.extension_point("after_sessions_started", {"sessions": sessions})
        self.stage("started", "已开课 sessions started")
        return ClassroomDayResult(sessions=sessions)
