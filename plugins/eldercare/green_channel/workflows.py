"""The emergency green channel 急诊绿色通道 for disabled elders 失能老人.

registry check (disability level) → triage by the health centre doctor → booking at the
partner hospital's emergency department, then the fallback hospital, then the district admin →
transport and escort, family notified → arrival (the minutes from opening are the figure this
channel exists for) → discharge, days or weeks later → follow-up visits by the family doctor at
day 1, 7 and 30 → close with an outcome summary.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow

from careflow.forms import form_ref
from careflow.models import ProcessInput, TaskOutcome
from careflow.plan import EscalationLevel, TaskTemplate
from plugins.eldercare.green_channel.forms import (
    ArrangeHospitalForm,
    ArrivalForm,
    DischargeForm,
    FollowUpForm,
    HospitalResponseForm,
    TransportForm,
    TriageForm,
)
from plugins.eldercare.green_channel.models import (
    BookingInput,
    BookingReceipt,
    BookingStatus,
    BookingUpdateInput,
    ElderCheck,
    ElderCheckInput,
    GreenChannelActivity,
    GreenChannelOutcome,
    GreenChannelParams,
    GreenChannelRequest,
    GreenChannelResult,
    HospitalArrivalEvent,
    HospitalDischargeEvent,
    HospitalResponseEvent,
    TriageLevel,
)
from plugins.engine.roles import Role
from workflows.runtime import CareProcess, TaskExpired, event_signal, run_activity

__all__ = ["GreenChannelWorkflow"]

_IGNORED_PATCH = "green-channel-records-ignored-hospital-events"
"""Hospital events the process does not use are recorded (before: only a worker log line)."""

_LEVEL_ZH = {
    TriageLevel.CRITICAL: "危重 critical",
    TriageLevel.URGENT: "紧急 urgent",
    TriageLevel.ROUTINE: "普通 routine",
}


def _task(
    role: str,
    title_zh: str,
    title_en: str,
    form: type,
    due: timedelta,
    *escalation: tuple[str, timedelta],
) -> TaskTemplate:
    return TaskTemplate(
        role=role,
        title_zh=title_zh,
        title_en=title_en,
        form_ref=form_ref(form),
        due=due,
        escalation=[EscalationLevel(role=r, due=d) for r, d in escalation],
    )


@workflow.defn(name="eldercare.green_channel")
class GreenChannelWorkflow(CareProcess):
    """One emergency referral of a disabled elder, from opening to the last follow-up."""

    def __init__(self) -> None:
        super().__init__()
        self._booking: BookingReceipt | None = None
        self._response_key: str | None = None
        # Case-record writes for hospital events the process cannot use (kept referenced).
        self._ignored: list[asyncio.Task[None]] = []

    @workflow.run
    async def run(self, input: ProcessInput[GreenChannelRequest]) -> GreenChannelResult:
        self.begin(input)
        request = input.request
        params = GreenChannelParams.model_validate(self.params)
        opened = workflow.now()

        self.stage("eligibility", "核对失能登记 checking the disability record")
        elder: ElderCheck = await run_activity(
            GreenChannelActivity.CHECK_ELDER,
            ElderCheckInput(
                elder_ref=request.elder_ref,
                district=self.context.district,
                min_disability_level=params.min_disability_level,
            ),
            result_type=ElderCheck,
            summary="核对登记信息 check the registry record",
        )
        if not elder.eligible:
            return await self._reject(elder)
        await self.record(
            "opened",
            "green_channel_opened",
            {
                "elder_ref": request.elder_ref,
                "source": request.source,
                "source_ref": request.source_ref,
                "disability_level": elder.disability_level,
            },
        )

        await self.extension_point(
            "before_triage",
            {"elder_ref": request.elder_ref, "disability_level": elder.disability_level},
        )
        level, ambulance = await self._triage(params)
        await self.extension_point(
            "after_triage", {"elder_ref": request.elder_ref, "level": level.value}
        )

        await self.extension_point(
            "before_booking", {"elder_ref": request.elder_ref, "level": level.value}
        )
        booking = await self._book(params, elder, level)
        if booking is None:
            return await self._no_hospital(level, ambulance)

        await self._transport(params, elder, booking)
        minutes = await self._arrival(params, booking, opened)
        await self.extension_point(
            "after_arrival",
            {"elder_ref": request.elder_ref, "hospital_ref": booking.hospital_ref},
        )

        discharge = await self._discharge(params, booking)
        if discharge is None:
            return await self._close(
                GreenChannelResult(
                    outcome=GreenChannelOutcome.DISCHARGE_UNCONFIRMED,
                    triage_level=level,
                    ambulance_120_called=ambulance,
                    hospital_ref=booking.hospital_ref,
                    booking_ref=booking.booking_ref,
                    minutes_to_arrival=minutes,
                )
            )
        discharged_at, disposition = discharge
        await self.extension_point(
            "after_discharge", {"elder_ref": request.elder_ref, "disposition": disposition}
        )
        follow_ups: dict[str, str] = {}
        if disposition != "deceased":
            follow_ups = await self._follow_ups(params, discharged_at)
        return await self._close(
            GreenChannelResult(
                outcome=(
                    GreenChannelOutcome.DECEASED
                    if disposition == "deceased"
                    else GreenChannelOutcome.COMPLETED
                ),
                triage_level=level,
                ambulance_120_called=ambulance,
                hospital_ref=booking.hospital_ref,
                booking_ref=booking.booking_ref,
                minutes_to_arrival=minutes,
                discharged_at=discharged_at.isoformat(),
                follow_ups=follow_ups,
            )
        )

    # -- stages

    async def _reject(self, elder: ElderCheck) -> GreenChannelResult:
        """A clear rejection: the registry shows no disability level (or no such elder)."""
        await self.record(
            "rejected",
            "green_channel_rejected",
            {"elder_ref": self._require_input().request.elder_ref, "reason": elder.reason},
        )
        self.stage("rejected", f"不符合条件 rejected: {elder.reason}")
        return GreenChannelResult(
            outcome=GreenChannelOutcome.REJECTED,
            reason=elder.reason,
            summary_zh="不受理：登记信息中该老人无失能等级（急诊绿色通道仅面向失能老人）。",
        )

    async def _triage(self, params: GreenChannelParams) -> tuple[TriageLevel, bool]:
        self.stage("triage", "医生分诊 triage by the health centre doctor")
        template = _task(
            Role.DOCTOR,
            "急诊绿色通道分诊",
            "Green channel triage",
            TriageForm,
            params.triage_due,
            (Role.DISTRICT_ADMIN, params.triage_escalation_due),
        )
        try:
            outcome = await self.human_task("triage", template)
        except TaskExpired:
            # Nobody triaged in time: err on the side of the elder and book as urgent.
            await self.record("triage", "triage_defaulted", {"level": TriageLevel.URGENT.value})
            await self.notify(
                "triage.defaulted",
                recipient_ref=f"role:{Role.DISTRICT_ADMIN.value}",
                template="green_channel_triage_defaulted",
                body_zh="急诊绿色通道分诊超时未处理，已按「紧急」继续预约医院，请跟进。",
            )
            return TriageLevel.URGENT, False
        form = TriageForm.model_validate(outcome.data)
        await self.record("triage", "triaged", {"level": form.level.value, "by": outcome.actor})
        if form.ambulance_120_called:
            await self.record(
                "ambulance",
                "ambulance_120_called",
                {"by": outcome.actor, "at": outcome.completed_at.isoformat()},
            )
        return form.level, form.ambulance_120_called

    async def _book(
        self, params: GreenChannelParams, elder: ElderCheck, level: TriageLevel
    ) -> BookingReceipt | None:
        """Partner hospital, then the fallback hospital, then the district admin arranges one."""
        hospitals = [h for h in (elder.partner_hospital, elder.fallback_hospital) if h]
        for attempt, hospital in enumerate(hospitals, start=1):
            which = "合作医院 partner" if attempt == 1 else "备用医院 fallback"
            self.stage(f"booking_{attempt}", f"预约{which}急诊 booking the {which} hospital")
            receipt = await self._request_booking(f"booking.{attempt}", hospital, level)
            answer = await self._await_response(f"booking.{attempt}.response", params, receipt)
            if answer == "accepted":
                return receipt
        self.stage("arranging", "区民政协调医院 district admin arranging a hospital")
        template = _task(
            Role.DISTRICT_ADMIN,
            "协调接收医院",
            "Arrange a receiving hospital",
            ArrangeHospitalForm,
            params.arrange_due,
        )
        try:
            outcome = await self.human_task("arrange", template)
        except TaskExpired:
            return None
        form = ArrangeHospitalForm.model_validate(outcome.data)
        if not form.arranged or form.hospital_ref is None:
            return None
        receipt = await self._request_booking("booking.arranged", form.hospital_ref, level)
        self._response_key = None  # arranged by phone: no answer to wait for
        await self._update_booking(receipt, "accepted", None)
        await self.record(
            "arranged",
            "hospital_arranged",
            {"hospital_ref": form.hospital_ref, "by": outcome.actor},
        )
        self._booking = receipt
        return receipt

    async def _request_booking(self, key: str, hospital: str, level: TriageLevel) -> BookingReceipt:
        ctx = self.context
        receipt: BookingReceipt = await run_activity(
            GreenChannelActivity.BOOK_HOSPITAL,
            BookingInput(
                workflow_id=workflow.info().workflow_id,
                step_key=key,
                district=ctx.district,
                case_ref=ctx.case_ref,
                hospital_ref=hospital,
                elder_ref=self._require_input().request.elder_ref,
                triage_level=level,
            ),
            result_type=BookingReceipt,
            timeout=timedelta(minutes=1),
            summary=f"预约医院急诊 book emergency department: {hospital}",
        )
        self._booking = receipt
        # From here the hospital's answer is accepted, even before its task row is open.
        self._response_key = f"{key}.response"
        await self.record(
            key, "booking_requested", {"hospital_ref": hospital, "booking_ref": receipt.booking_ref}
        )
        return receipt

    async def _await_response(
        self, key: str, params: GreenChannelParams, receipt: BookingReceipt
    ) -> str:
        """The hospital answers (event), or staff enter its answer after a phone call."""
        template = _task(
            Role.HOSPITAL,
            "确认急诊接收",
            "Accept or refuse a green channel referral",
            HospitalResponseForm,
            params.response_due,
            (Role.COMMUNITY_STAFF, params.response_staff_due),
        )
        answer: BookingStatus
        reason: str | None
        try:
            outcome = await self.human_task(key, template)
        except TaskExpired:
            answer, reason = "no_answer", None
        else:
            form = HospitalResponseForm.model_validate(outcome.data)
            answer = "accepted" if form.accepted else "refused"
            reason = form.reason_code or None
        self._response_key = None
        await self._update_booking(receipt, answer, reason)
        await self.record(
            key,
            f"hospital_{answer}",
            {"hospital_ref": receipt.hospital_ref, "reason_code": reason},
        )
        return answer

    async def _update_booking(
        self, receipt: BookingReceipt, status: BookingStatus, reason: str | None
    ) -> None:
        await run_activity(
            GreenChannelActivity.UPDATE_BOOKING,
            BookingUpdateInput(booking_ref=receipt.booking_ref, status=status, reason_code=reason),
            summary=f"更新预约状态 booking {status}",
        )

    async def _transport(
        self, params: GreenChannelParams, elder: ElderCheck, booking: BookingReceipt
    ) -> None:
        self.stage("transport", "转运陪同 transport and escort")
        recipients = elder.family_refs or [f"role:{Role.COMMUNITY_STAFF.value}"]
        for n, ref in enumerate(recipients):
            await self.notify(
                f"family.{n}",
                recipient_ref=ref,
                template="green_channel_family",
                body_zh=(
                    "您的家人已进入急诊绿色通道，正在送往医院，社区人员全程陪同。"
                    if elder.family_refs
                    else "该老人在登记中无同户家属，请电话联系其家属告知已送医。"
                ),
                params={"hospital_ref": booking.hospital_ref},
            )
        template = _task(
            params.transport_role,
            "陪同老人转运就医",
            "Escort the elder to hospital",
            TransportForm,
            params.transport_due,
            (Role.COMMUNITY_STAFF, params.transport_escalation_due),
        )
        try:
            outcome = await self.human_task("transport", template)
        except TaskExpired:
            await self.record("transport", "transport_unconfirmed", {})
            return
        await self.record("transport", "escorted", {"by": outcome.actor, **outcome.data})

    async def _arrival(
        self, params: GreenChannelParams, booking: BookingReceipt, opened: datetime
    ) -> float | None:
        self.stage("awaiting_arrival", "等待到院确认 awaiting arrival at hospital")
        template = _task(
            Role.HOSPITAL,
            "确认老人到院",
            "Confirm the elder's arrival",
            ArrivalForm,
            params.arrival_due,
            (Role.COMMUNITY_STAFF, params.arrival_escalation_due),
        )
        try:
            outcome = await self.human_task("arrival", template)
        except TaskExpired:
            await self.record("arrival", "arrival_unconfirmed", {})
            self.stage("in_hospital", "住院中（到院未确认）in hospital, arrival unconfirmed")
            return None
        minutes = round((outcome.completed_at - opened).total_seconds() / 60, 1)
        await self._update_booking(booking, "arrived", None)
        await self.record(
            "arrival",
            "arrived",
            {"hospital_ref": booking.hospital_ref, "minutes_to_arrival": minutes},
        )
        # The stage title is the UI's current details: the figure the channel exists for.
        self.stage("in_hospital", f"已到院 arrived · 开通至到院 {minutes} 分钟 minutes")
        return minutes

    async def _discharge(
        self, params: GreenChannelParams, booking: BookingReceipt
    ) -> tuple[datetime, str] | None:
        template = _task(
            Role.HOSPITAL,
            "登记出院",
            "Record the discharge",
            DischargeForm,
            params.discharge_due,
            (Role.COMMUNITY_STAFF, params.discharge_escalation_due),
        )
        try:
            outcome = await self.human_task("discharge", template)
        except TaskExpired:
            await self.record("discharge", "discharge_unconfirmed", {})
            return None
        form = DischargeForm.model_validate(outcome.data)
        await self._update_booking(booking, "discharged", form.disposition)
        await self.record("discharge", "discharged", {"disposition": form.disposition})
        self.stage("discharged", f"已出院 discharged ({form.disposition})")
        return outcome.completed_at, form.disposition

    async def _follow_ups(
        self, params: GreenChannelParams, discharged_at: datetime
    ) -> dict[str, str]:
        done: dict[str, str] = {}
        for day in params.follow_up_days:
            wait = discharged_at + timedelta(days=day) - workflow.now()
            if wait > timedelta(0):
                self.stage("follow_up_wait", f"等待出院后第{day}天随访 waiting for day {day}")
                await workflow.sleep(wait, summary=f"出院后第{day}天随访 follow-up day {day}")
            self.stage(f"follow_up_d{day}", f"第{day}天随访 follow-up visit, day {day}")
            template = _task(
                Role.DOCTOR,
                f"出院后第{day}天上门随访",
                f"Follow-up home visit, day {day} after discharge",
                FollowUpForm,
                params.follow_up_due,
                (Role.DISTRICT_ADMIN, params.follow_up_escalation_due),
            )
            key = f"follow_up.d{day}"
            try:
                outcome: TaskOutcome = await self.human_task(key, template)
            except TaskExpired:
                await self.record(key, "follow_up_missed", {"day": day})
                done[str(day)] = "missed"
                continue
            form = FollowUpForm.model_validate(outcome.data)
            await self.record(
                key,
                "follow_up_visited" if form.visited else "follow_up_not_visited",
                {"day": day, "condition": form.condition, "by": outcome.actor},
            )
            done[str(day)] = "visited" if form.visited else "missed"
        return done

    async def _no_hospital(self, level: TriageLevel, ambulance: bool) -> GreenChannelResult:
        await self.notify(
            "no_hospital",
            recipient_ref=f"role:{Role.DISTRICT_ADMIN.value}",
            template="green_channel_no_hospital",
            body_zh="急诊绿色通道未能落实接收医院，请立即协调。",
        )
        return await self._close(
            GreenChannelResult(
                outcome=GreenChannelOutcome.NO_HOSPITAL,
                triage_level=level,
                ambulance_120_called=ambulance,
                reason="no_hospital_accepted",
            )
        )

    async def _close(self, result: GreenChannelResult) -> GreenChannelResult:
        # Only reached after the registry check passed: the elder is known.
        await self.extension_point(
            "before_close",
            {
                "elder_ref": self._require_input().request.elder_ref,
                "outcome": result.outcome.value,
            },
        )
        result.summary_zh = _summary_zh(result)
        await self.record("closed", "green_channel_closed", result.model_dump(mode="json"))
        self.stage("closed", f"已结案 closed: {result.outcome.value}")
        return result

    # -- hospital events

    @event_signal(name="hospital_response")
    def hospital_response(self, event: HospitalResponseEvent) -> None:
        """The hospital answered a booking (routed from ``eldercare.hospital_response``)."""
        if self._booking is None or event.booking_ref != self._booking.booking_ref:
            workflow.logger.warning(
                "green_channel.stale_response", extra={"booking_ref": event.booking_ref}
            )
            self._record_ignored("hospital_response", event.booking_ref, "not_current_booking")
            return
        key = self._response_key
        if key is None:
            self._record_ignored("hospital_response", event.booking_ref, "already_answered")
            return
        self.complete_from_event(
            key,
            actor=f"hospital:{self._booking.hospital_ref}",
            data={"accepted": event.accepted, "reason_code": event.reason_code},
        )

    @event_signal(name="hospital_arrival")
    def hospital_arrival(self, event: HospitalArrivalEvent) -> None:
        """The hospital confirmed arrival (routed from ``eldercare.hospital_arrival``)."""
        if self._booking is not None and event.booking_ref == self._booking.booking_ref:
            self.complete_from_event(
                "arrival", actor=f"hospital:{self._booking.hospital_ref}", data={"arrived": True}
            )
        else:
            self._record_ignored("hospital_arrival", event.booking_ref, "not_current_booking")

    @event_signal(name="hospital_discharge")
    def hospital_discharge(self, event: HospitalDischargeEvent) -> None:
        """The hospital reported the discharge (routed from ``eldercare.hospital_discharge``)."""
        if self._booking is not None and event.booking_ref == self._booking.booking_ref:
            self.complete_from_event(
                "discharge",
                actor=f"hospital:{self._booking.hospital_ref}",
                data={"disposition": event.disposition},
            )
        else:
            self._record_ignored("hospital_discharge", event.booking_ref, "not_current_booking")

    def _record_ignored(self, signal: str, booking_ref: str, reason: str) -> None:
        """Put a hospital event the process does not use into the case record.

        The route check refuses most of them at the boundary; what still arrives (a race with
        a second answer, a fallback booking) must not vanish into a log line. The signal
        handlers stay synchronous so the usual path replays unchanged; only this path adds a
        command, behind the patch.
        """
        if not workflow.patched(_IGNORED_PATCH):
            return
        n = len(self._ignored) + 1

        async def write() -> None:
            await workflow.wait_condition(lambda: self._input is not None)
            await self.record(
                f"hospital_ignored.{n}",
                "hospital_event_ignored",
                {"event": signal, "booking_ref": booking_ref, "reason": reason},
            )

        self._ignored.append(asyncio.create_task(write()))


def _summary_zh(result: GreenChannelResult) -> str:
    """The outcome summary of a closed case: codes and figures only, no personal data."""
    parts = [f"急诊绿色通道结案 closed: {result.outcome.value}"]
    if result.triage_level is not None:
        parts.append(f"分诊 {_LEVEL_ZH[result.triage_level]}")
    if result.ambulance_120_called:
        parts.append("已呼叫120 ambulance called")
    if result.hospital_ref:
        parts.append(f"接收医院 {result.hospital_ref}")
    if result.minutes_to_arrival is not None:
        parts.append(f"开通至到院 {result.minutes_to_arrival} 分钟")
    if result.follow_ups:
        visited = sum(1 for v in result.follow_ups.values() if v == "visited")
        parts.append(f"随访 {visited}/{len(result.follow_ups)}")
    return "；".join(parts)
