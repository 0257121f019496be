"""The community event workflow: registration with capacity and a waiting list, reminders,
attendance, report.

Registered as ``community_event``, the name it had in ``workflows/community_event.py``, so
running events and recorded histories carry on under this module.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from careflow.forms import form_ref
from careflow.models import ProcessInput
from careflow.plan import EscalationLevel, TaskTemplate
from plugins.engine.community_event.forms import AttendanceForm
from plugins.engine.community_event.models import (
    COMMUNITY_EVENT_PROCESS,
    CancellationEvent,
    CancelRequest,
    CommunityEventParams,
    CommunityEventRequest,
    CommunityEventResult,
    EventOutcome,
    RegisterRequest,
    RegistrationEvent,
    RegistrationStatus,
    RegistrationView,
)
from plugins.engine.roles import Role
from workflows.runtime import CareProcess, TaskExpired, event_signal

__all__ = ["CommunityEventWorkflow"]


def _attendance_task(params: CommunityEventParams, request: CommunityEventRequest) -> TaskTemplate:
    return TaskTemplate(
        role=Role.COMMUNITY_STAFF,
        title_zh="登记活动签到 record attendance",
        title_en="Record who attended the event",
        form_ref=form_ref(AttendanceForm),
        due=request.duration + params.attendance_due,
        escalation=[
            EscalationLevel(role=Role.DISTRICT_ADMIN, due=params.attendance_escalation_due)
        ],
    )


@workflow.defn(name=COMMUNITY_EVENT_PROCESS)
class CommunityEventWorkflow(CareProcess):
    """Registration with capacity and a waiting list, reminders, attendance, report."""

    @workflow.init
    def __init__(self, input: ProcessInput[CommunityEventRequest]) -> None:
        super().__init__()
        # Set from the input here, not in run: validators of early Updates need the capacity.
        self._request = input.request
        self._capacity = input.request.capacity
        self._max_seats = input.request.max_seats_per_registration
        self._open = True
        # person_ref → seats; dicts keep insertion order, which is the order of registration.
        self._confirmed: dict[str, int] = {}
        self._waitlist: dict[str, int] = {}
        self._cancellations = 0
        self._promoted = 0
        # Every write gets its own step key: the same person may register, cancel and return.
        self._seq = 0

    # -- registration state (pure, so validators and signals share it)

    def _seats_left(self) -> int:
        return self._capacity - sum(self._confirmed.values())

    def _view(self, person_ref: str, status: RegistrationStatus, seats: int) -> RegistrationView:
        position = None
        if status is RegistrationStatus.WAITLISTED:
            position = list(self._waitlist).index(person_ref) + 1
        return RegistrationView(
            person_ref=person_ref,
            status=status,
            seats=seats,
            waitlist_position=position,
            seats_left=self._seats_left(),
        )

    def _register_problem(self, person_ref: str, seats: int) -> str | None:
        if not self._open:
            return "registration is closed"
        if person_ref in self._confirmed or person_ref in self._waitlist:
            return f"{person_ref} is already registered"
        if seats > self._max_seats:
            return f"at most {self._max_seats} seats per registration"
        if seats > self._capacity:
            return f"the event has only {self._capacity} seats"
        return None

    def _cancel_problem(self, person_ref: str) -> str | None:
        if not self._open:
            return "registration is closed"
        if person_ref not in self._confirmed and person_ref not in self._waitlist:
            return f"{person_ref} is not registered"
        return None

    async def _register(self, person_ref: str, seats: int, via: str) -> RegistrationView:
        # Strict first come, first served: nobody jumps a waiting list that already exists.
        if not self._waitlist and seats <= self._seats_left():
            self._confirmed[person_ref] = seats
            status = RegistrationStatus.CONFIRMED
        else:
            self._waitlist[person_ref] = seats
            status = RegistrationStatus.WAITLISTED
        view = self._view(person_ref, status, seats)
        self._seq += 1
        await self.record(
            f"registration.{self._seq}",
            "event_registered",
            {"person_ref": person_ref, "seats": seats, "status": status.value, "via": via},
        )
        return view

    async def _cancel(self, person_ref: str, via: str) -> RegistrationView:
        seats = self._confirmed.pop(person_ref, None)
        if seats is None:
            seats = self._waitlist.pop(person_ref)
        self._cancellations += 1
        promoted = self._promote()
        self._seq += 1
        await self.record(
            f"cancellation.{self._seq}",
            "event_cancelled",
            {"person_ref": person_ref, "via": via, "promoted": promoted},
        )
        for ref in promoted:
            await self.notify(
                f"promoted.{self._seq}.{ref}",
                recipient_ref=ref,
                template="event_place_offered",
                body_zh=f"您候补的活动「{self._request.title_zh}」已有空位，报名成功，请准时参加。",
                params={"starts_at": self._request.starts_at.isoformat()},
            )
        return self._view(person_ref, RegistrationStatus.CANCELLED, seats)

    def _promote(self) -> list[str]:
        """Move the head of the waiting list up while its party fits; never skip anyone."""
        promoted: list[str] = []
        while self._waitlist:
            ref, seats = next(iter(self._waitlist.items()))
            if seats > self._seats_left():
                break
            del self._waitlist[ref]
            self._confirmed[ref] = seats
            promoted.append(ref)
        self._promoted += len(promoted)
        return promoted

    # -- updates (clients) and signals (routed events from the CLI)

    @workflow.update(name="register")
    async def register(self, request: RegisterRequest) -> RegistrationView:
        """Register a person; answers confirmed or their place on the waiting list."""
        await self.wait_until_begun()
        return await self._register(request.person_ref, request.seats, "update")

    @register.validator
    def _validate_register(self, request: RegisterRequest) -> None:
        problem = self._register_problem(request.person_ref, request.seats)
        if problem:
            raise ApplicationError(problem, type="RegistrationRefused")

    @workflow.update(name="cancel")
    async def cancel(self, request: CancelRequest) -> RegistrationView:
        """Cancel a registration; a freed place goes to the head of the waiting list."""
        await self.wait_until_begun()
        return await self._cancel(request.person_ref, "update")

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        problem = self._cancel_problem(request.person_ref)
        if problem:
            raise ApplicationError(problem, type="CancellationRefused")

    @event_signal(name="register_event")
    async def register_event(self, event: RegistrationEvent) -> None:
        """A desk registration routed by ``careflow event``; a refusal is recorded."""
        await self.wait_until_begun()
        problem = self._register_problem(event.person_ref, event.seats)
        if problem:
            await self._refused("registration", event.person_ref, problem)
            return
        await self._register(event.person_ref, event.seats, "event")

    @event_signal(name="cancel_event")
    async def cancel_event(self, event: CancellationEvent) -> None:
        """A desk cancellation routed by ``careflow event``; a refusal is recorded."""
        await self.wait_until_begun()
        problem = self._cancel_problem(event.person_ref)
        if problem:
            await self._refused("cancellation", event.person_ref, problem)
            return
        await self._cancel(event.person_ref, "event")

    async def wait_until_begun(self) -> None:
        """Handlers may run before the run method has bound the process input; wait for it."""
        await workflow.wait_condition(lambda: self._input is not None)

    async def _refused(self, what: str, person_ref: str, problem: str) -> None:
        self._seq += 1
        await self.record(
            f"refused.{self._seq}",
            "event_request_refused",
            {"what": what, "person_ref": person_ref, "problem": problem},
        )

    # -- the process

    @workflow.run
    async def run(self, input: ProcessInput[CommunityEventRequest]) -> CommunityEventResult:
        self.begin(input)
        request = input.request
        params = CommunityEventParams.model_validate(self.params)

        self.stage("registration", "报名中 registration open")
        remind_at = request.starts_at - params.reminder_lead
        if remind_at > workflow.now():
            await workflow.sleep(
                remind_at - workflow.now(), summary="等待活动前一天提醒 until reminders"
            )

        self.stage("reminders", "活动提醒 reminders")
        reminded = list(self._confirmed)
        for ref in reminded:
            await self.notify(
                f"reminder.{ref}",
                recipient_ref=ref,
                template="event_reminder",
                body_zh=f"提醒：您报名的活动「{request.title_zh}」将于明天举行，请准时参加。",
                params={"starts_at": request.starts_at.isoformat(), "seats": self._confirmed[ref]},
            )
        await self.extension_point("after_reminders", {"reminded": reminded})

        if request.starts_at > workflow.now():
            await workflow.sleep(
                request.starts_at - workflow.now(), summary="等待活动开始 until start"
            )
        self._open = False
        # Let registrations that were mid-flight finish before the list is frozen.
        await workflow.wait_condition(workflow.all_handlers_finished)
        self.stage("under_way", "活动进行中 under way")
        for ref in self._waitlist:
            await self.notify(
                f"waitlist_closed.{ref}",
                recipient_ref=ref,
                template="event_waitlist_closed",
                body_zh=f"很抱歉，活动「{request.title_zh}」名额已满，候补未能入选，欢迎参加下次活动。",
            )
        await self.extension_point(
            "after_registration_closed",
            {"confirmed": list(self._confirmed), "waitlisted": list(self._waitlist)},
        )

        report = CommunityEventResult(
            outcome=EventOutcome.HELD,
            kind=request.kind,
            capacity=request.capacity,
            confirmed=len(self._confirmed),
            seats_confirmed=sum(self._confirmed.values()),
            waitlisted_at_start=len(self._waitlist),
            cancellations=self._cancellations,
            promoted=self._promoted,
            reminders_sent=len(reminded),
        )
        self.stage("attendance", "登记签到 attendance")
        try:
            outcome = await self.human_task("attendance", _attendance_task(params, request))
        except TaskExpired:
            report.outcome = EventOutcome.ATTENDANCE_MISSING
            await self.notify(
                "attendance_missing",
                recipient_ref=f"role:{Role.DISTRICT_ADMIN.value}",
                template="event_attendance_missing",
                body_zh=f"活动「{request.title_zh}」未登记签到，请跟进。",
            )
        else:
            form = AttendanceForm.model_validate(outcome.data)
            # Only registrants count as attendance; anyone else listed came as a walk-in.
            attended = [ref for ref in form.attended if ref in self._confirmed]
            unregistered = len(form.attended) - len(attended)
            report.attended = len(attended)
            report.no_shows = len(self._confirmed) - len(attended)
            report.walk_ins = form.walk_ins + unregistered
            if self._confirmed:
                report.attendance_rate = round(len(attended) / len(self._confirmed), 3)
            await self.record(
                "attendance",
                "event_attendance",
                {
                    "by": outcome.actor,
                    "attended": attended,
                    "no_shows": [ref for ref in self._confirmed if ref not in attended],
                    "walk_ins": report.walk_ins,
                },
            )
            await self.extension_point("after_attendance", {"attended": attended})

        self.stage("report", "活动总结 report")
        await self.extension_point("before_report", report.model_dump(mode="json"))
        await self.record("report", "event_report", report.model_dump(mode="json"))
        self.stage("closed", "已结束 closed")
        return report
