"""The shared community event process 社区活动: registration, reminders, attendance, report.

Film screenings 公益观影 and child-safety workshops 安全"童"行 run on it today; eldercare culture
classes (银龄风采 dance, calligraphy) reuse it unchanged. The flow:

registration with a capacity and a waiting list (``register`` / ``cancel`` Updates for clients,
the same as routed events for the CLI; a cancellation promotes the head of the waiting list) →
reminder to every confirmed registrant the day before → registration closes at the start →
attendance task for community staff (escalates to the district admin) → report.

Registrants are registry ids (``P…``); names and phones never enter the workflow.

Refusals 拒绝规则: a registrant the registry does not hold (or of another district) is refused
at the boundary (exit 2, nothing sent). Whether a registration or a cancellation can be
accepted (registration closed, already registered, not registered) is known only to the
running process: the ``register`` / ``cancel`` Updates answer it at once; a routed event is
refused by the process and recorded in the case record (``event_request_refused``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator
from temporalio import workflow
from temporalio.exceptions import ApplicationError

from careflow.contract import CareEvent
from careflow.forms import form_ref
from careflow.inputs import MAX_ITEMS, ExternalModel, Ref, RegistryRef
from careflow.models import ProcessInput
from careflow.params import NonNegativeDuration, PositiveDuration
from careflow.plan import EscalationLevel, TaskTemplate
from careflow.roles import Role
from workflows.runtime import CareProcess, TaskExpired

__all__ = [
    "COMMUNITY_EVENT_POINTS",
    "AttendanceForm",
    "CancelRequest",
    "CancellationEvent",
    "CommunityEventParams",
    "CommunityEventRequest",
    "CommunityEventResult",
    "CommunityEventWorkflow",
    "EventOutcome",
    "RegisterRequest",
    "RegistrationEvent",
    "RegistrationStatus",
    "RegistrationView",
]

COMMUNITY_EVENT_POINTS = (
    "after_registration_closed",
    "after_reminders",
    "after_attendance",
    "before_report",
)

PERSON_REF = r"^P\d{3,}$"
"""Registrants are registry ids, so a typo'd name or a phone number cannot slip in."""

PersonRef = Annotated[Ref, Field(pattern=PERSON_REF), RegistryRef("person")]
"""A registrant: a person of the registry, in the event's district."""


class CommunityEventRequest(ExternalModel):
    """What starts an event. The title is the event's, never a person's."""

    kind: Literal["film_screening", "safety_workshop", "culture_class", "other"] = Field(
        title="活动类型 Kind",
        description=(
            "film_screening 公益观影；safety_workshop 安全教育（安全“童”行）；"
            "culture_class 文化课堂；other 其他"
        ),
    )
    title_zh: str = Field(
        min_length=1,
        max_length=64,
        title="活动名称 Title",
        description="如：公益观影《长津湖》 e.g. 公益观影《长津湖》",
    )
    capacity: int = Field(ge=1, le=2000, title="名额 Capacity", description="人 places")
    starts_at: datetime = Field(
        title="开始时间 Starts at",
        description="开始时间，须带时区（北京时间 +08:00）。 Start time, with a UTC offset.",
    )
    duration: timedelta = Field(
        default=timedelta(hours=2),
        gt=timedelta(0),
        title="时长 Duration",
        description="ISO 8601 时长，如 PT2H 为两小时。 ISO 8601 duration, e.g. PT2H.",
    )
    max_seats_per_registration: int = Field(
        default=4,
        ge=1,
        le=10,
        title="每次报名最多座位 Seats per registration",
        description="家长可为同来的孩子一并报名。 A parent may register children with them.",
    )

    @field_validator("starts_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("starts_at needs a UTC offset, e.g. 2026-12-05T14:00:00+08:00")
        return value


class CommunityEventParams(BaseModel):
    """What a district may set for community events."""

    reminder_lead: NonNegativeDuration = timedelta(days=1)
    attendance_due: PositiveDuration = timedelta(days=1)
    attendance_escalation_due: PositiveDuration = timedelta(days=2)


class RegisterRequest(ExternalModel):
    """Argument of the ``register`` Update."""

    person_ref: PersonRef
    seats: int = Field(default=1, ge=1, le=10)


class CancelRequest(ExternalModel):
    """Argument of the ``cancel`` Update."""

    person_ref: PersonRef


class RegistrationEvent(CareEvent):
    """A registration entered at the community desk (``careflow event``)."""

    person_ref: PersonRef
    seats: int = Field(default=1, ge=1, le=10)


class CancellationEvent(CareEvent):
    """A cancellation entered at the community desk (``careflow event``)."""

    person_ref: PersonRef


class RegistrationStatus(StrEnum):
    """Where a registrant stands."""

    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class RegistrationView(BaseModel):
    """What ``register`` and ``cancel`` answer."""

    person_ref: str
    status: RegistrationStatus
    seats: int
    waitlist_position: int | None = None
    seats_left: int


class AttendanceForm(ExternalModel):
    """Community staff record who came, by registry id, and how many came without registering."""

    attended: list[Ref] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        title="到场人员 Attended",
        description="到场者的登记编号（P…），每行一个。 Registry ids (P…) present.",
    )
    walk_ins: int = Field(
        default=0,
        ge=0,
        le=2000,
        title="现场报名人数 Walk-ins",
        description="未报名而到场的人数。 People who came unregistered.",
    )
    note: str = Field(default="", max_length=500, title="备注 Note")

    @field_validator("attended")
    @classmethod
    def _ids(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a registrant is listed twice")
        bad = [v for v in value if not (v.startswith("P") and v[1:].isdigit())]
        if bad:
            raise ValueError(f"not registry ids: {', '.join(bad[:3])}")
        return value


class EventOutcome(StrEnum):
    """How an event ended."""

    HELD = "held"
    ATTENDANCE_MISSING = "attendance_missing"


class CommunityEventResult(BaseModel):
    """The event report: what ``careflow status`` and a parent process see."""

    outcome: EventOutcome
    kind: str
    capacity: int
    confirmed: int = Field(description="Registrations holding a place when the event started.")
    seats_confirmed: int
    waitlisted_at_start: int
    cancellations: int
    promoted: int
    reminders_sent: int
    attended: int = 0
    no_shows: int = 0
    walk_ins: int = 0
    attendance_rate: float | None = None


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


@workflow.defn(name="community_event")
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

    @workflow.signal(name="register_event")
    async def register_event(self, event: RegistrationEvent) -> None:
        """A desk registration routed by ``careflow event``; a refusal is recorded."""
        await self.wait_until_begun()
        problem = self._register_problem(event.person_ref, event.seats)
        if problem:
            await self._refused("registration", event.person_ref, problem)
            return
        await self._register(event.person_ref, event.seats, "event")

    @workflow.signal(name="cancel_event")
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
