"""Request and response bodies of the HTTP API: the OpenAPI document is generated from these."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from careflow.access.actions.unmask import REASON_MAX, RecordView
from careflow.access.principal import Principal
from careflow.db.tables import AuditEntry, Task
from careflow.privacy.masking import Personal
from careflow.task_context import ContextItem

__all__ = [
    "AuditRow",
    "CaseEntry",
    "CompleteBody",
    "EventAccepted",
    "GrantOut",
    "Health",
    "LoginBody",
    "Me",
    "PersonRecordOut",
    "ProcessEntry",
    "ProcessStatus",
    "ProcessTask",
    "SessionOut",
    "StartBody",
    "TaskDetailOut",
    "TaskList",
    "TaskSummary",
    "TimelineEntry",
    "TokenOut",
    "UnmaskBody",
    "me_of",
]

_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginBody(_Body):
    """A console or API login."""

    username: str = Field(min_length=1, max_length=64, description="用户名 username")
    password: str = Field(min_length=1, max_length=256, description="密码 password")


class GrantOut(BaseModel):
    """A role held over an area (``taiyuan``, a district, street or community code)."""

    role: str
    area: str


class TokenOut(BaseModel):
    """What the caller's API token allows."""

    token_id: str
    event_types: list[str]
    districts: list[str]
    expires_at: datetime


class Me(BaseModel):
    """The authenticated account."""

    staff_id: str
    name: str
    kind: Literal["person", "system"]
    username: str | None
    roles: list[str]
    grants: list[GrantOut]
    token: TokenOut | None = None
    via: Literal["session", "token"]


class SessionOut(Me):
    """A new console session; the cookie carries it, ``csrf_token`` goes into unsafe requests."""

    csrf_token: str = Field(description="Send it as ``X-CSRF-Token`` with POST and DELETE.")


def me_of(principal: Principal, *, via: Literal["session", "token"]) -> Me:
    """The ``Me`` body of a principal."""
    token = principal.token
    return Me(
        staff_id=principal.staff_id,
        name=principal.name,
        kind=principal.kind,
        username=principal.username,
        roles=principal.roles,
        grants=[GrantOut(role=g.role, area=g.area) for g in principal.grants],
        token=None
        if token is None
        else TokenOut(
            token_id=token.token_id,
            event_types=sorted(token.event_types),
            districts=sorted(token.districts),
            expires_at=token.expires_at,
        ),
        via=via,
    )


class TaskSummary(BaseModel):
    """A task 工单 as an inbox lists it."""

    task_id: str
    workflow_id: str
    process: str
    module: str
    district: str
    community: str | None
    case_ref: str
    role: str = Field(description="The role the task is with now (after escalation).")
    title_zh: str
    title_en: str
    status: str = Field(description="open, done, expired or cancelled.")
    escalation_level: int
    overdue: bool
    due_at: datetime
    opened_at: datetime
    closed_at: datetime | None
    completed_by: str | None
    completed_role: str | None
    assignee: str | None = Field(description="Staff id of who claimed it, if anyone.")

    @classmethod
    def of(cls, task: Task, *, now: datetime) -> TaskSummary:
        """The summary of a task row (overdue: flagged, or open past its due time)."""
        return cls(
            task_id=task.task_id,
            workflow_id=task.workflow_id,
            process=task.process,
            module=task.module,
            district=task.district,
            community=task.community,
            case_ref=task.case_ref,
            role=task.role,
            title_zh=task.title_zh,
            title_en=task.title_en,
            status=str(task.status),
            escalation_level=task.escalation_level,
            overdue=task.status == "open" and (task.overdue or task.due_at < now),
            due_at=task.due_at,
            opened_at=task.opened_at,
            closed_at=task.closed_at,
            completed_by=task.completed_by,
            completed_role=task.completed_role,
            assignee=task.assignee,
        )


class TaskList(BaseModel):
    """An inbox page: overdue first, then soonest due."""

    count: int
    tasks: list[TaskSummary]


class TaskDetailOut(TaskSummary):
    """A task with what the person needs to act on it."""

    form_schema: dict[str, Any] = Field(description="JSON Schema of the form to submit.")
    context: list[ContextItem] = Field(
        description="What the task is about; personal items masked unless unmasked."
    )
    may_complete: bool = Field(description="Whether the caller may complete it now.")
    unmasked: bool = Field(
        description="Whether this answer is an unmask (``POST …/unmask``): the kinds in "
        "``clear`` are in clear, every other personal item stays masked."
    )
    may_unmask: bool = Field(
        default=False, description="Whether the caller may ask to see the context in full."
    )
    clear: list[Personal] = Field(
        default_factory=list, description="The kinds of personal data shown in clear."
    )
    result: dict[str, Any] | None = Field(description="The submitted form, once done.")


class UnmaskBody(_Body):
    """Why the caller needs to see one record's personal data in full (audited)."""

    reason: str = Field(
        min_length=1,
        max_length=REASON_MAX,
        description="理由 reason, one line (trimmed; control characters refused).",
        examples=["上门前核对地址 check the address before the visit"],
    )


class PersonRecordOut(BaseModel):
    """The one person a process is about: masked, or in clear after an unmask."""

    workflow_id: str
    items: list[ContextItem] = Field(description="Name, ID number, phone, address.")
    may_unmask: bool = Field(description="Whether the caller may ask to see them in full.")
    clear: list[Personal] = Field(
        default_factory=list, description="The kinds of personal data shown in clear."
    )
    request_id: str | None = Field(
        default=None, description="The audited unmask request, when this answer is one."
    )

    @classmethod
    def of(cls, view: RecordView) -> PersonRecordOut:
        """The body of a record view."""
        return cls(
            workflow_id=view.target,
            items=view.items,
            may_unmask=view.may_unmask,
            clear=sorted(view.clear),
            request_id=view.request_id,
        )


class CompleteBody(_Body):
    """A task completion: the form's data."""

    data: dict[str, Any] = Field(description="The form, as its ``form_schema`` describes.")
    role: str | None = Field(
        default=None,
        max_length=32,
        description="The role to act in; inferred from the grants when omitted.",
    )


class ProcessEntry(BaseModel):
    """A process the caller may start, and where."""

    process: str
    module: str
    title_zh: str
    title_en: str
    start_roles: list[str]
    areas: list[str] = Field(description="Areas the caller's grants let it start this in.")
    request_schema: dict[str, Any] = Field(description="JSON Schema of ``request``.")


class StartBody(_Body):
    """Start a process for a case."""

    district: str = Field(min_length=1, max_length=64)
    community: str | None = Field(default=None, max_length=64)
    case_ref: str | None = Field(
        default=None,
        max_length=128,
        pattern=_ID,
        description="Opaque; a fresh one if omitted. At most 32 ASCII letters, digits and _ . -, "
        "no ID or mobile number (refused naming case_ref); the workflow id holds its case key.",
    )
    request: dict[str, Any] = Field(description="The process's request (``request_schema``).")


class ProcessTask(BaseModel):
    """A task of a process."""

    task_id: str
    title_zh: str
    role: str
    status: str
    overdue: bool
    due_at: str


class TimelineEntry(BaseModel):
    """One thing that happened in a process: a task opened or closed, a case record."""

    at: str
    kind: str
    task_id: str | None = None
    step_key: str | None = None
    title_zh: str | None = None
    role: str | None = None
    by: str | None = Field(default=None, description="Staff id of who acted.")


class ProcessStatus(BaseModel):
    """Status, stage, plan and timeline of one process."""

    model_config = ConfigDict(extra="allow")

    workflow_id: str
    status: str = Field(description="RUNNING, COMPLETED, FAILED, TERMINATED …")
    process: str | None = None
    district: str | None = None
    community: str | None = None
    stage: str | None = None
    overdue: bool | None = None
    case_ref: str | None = None
    case_key: str | None = Field(
        default=None,
        description="The case's pseudonym the workflow id and CareCaseRef hold (none for a "
        "process started before case keys).",
    )
    summary: str | None = None
    plan: str | None = None
    plan_plugins: Any = None
    plan_steps: Any = None
    problem: Any = None
    ids: dict[str, Any] | None = None
    events: list[Any] | None = None
    tasks: list[ProcessTask] = Field(default_factory=list)
    result: Any = None
    timeline: list[TimelineEntry] = Field(default_factory=list)
    subject: PersonRecordOut | None = Field(
        default=None,
        description="The person the process is about, masked (none for a campaign or event).",
    )


class CaseEntry(BaseModel):
    """A workflow of a case."""

    workflow_id: str
    process: str
    district: str
    community: str | None
    case_ref: str
    case_key: str | None = Field(
        default=None, description="The pseudonym its workflow id holds (k + 16 characters)."
    )


class EventAccepted(BaseModel):
    """An event delivered to its process."""

    event_type: str
    workflow_id: str
    request_id: str


class AuditRow(BaseModel):
    """One attempt, accepted or refused."""

    id: int
    at: datetime
    request_id: str
    actor: str
    channel: str
    action: str
    target: str | None
    district: str | None
    community: str | None
    outcome: str
    reason: str | None
    message: str | None

    @classmethod
    def of(cls, row: AuditEntry) -> AuditRow:
        """The body of an audit row."""
        return cls.model_validate(row, from_attributes=True)


class Health(BaseModel):
    """Whether the service runs and what it can reach."""

    status: Literal["ok"]
    temporal_client: bool = Field(description="A Temporal client has been made.")
