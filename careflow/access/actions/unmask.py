"""Unmasking 显示完整信息: one record's personal data in clear, for one request, with a reason.

Every channel shows personal data masked (:mod:`careflow.privacy.masking`). A person whose
grants allow it asks to see *one record* in full and says why; the answer to that request
carries the record in clear, and nothing else changes: the next page, API call or command
shows it masked again (nothing is stored in the session). Each attempt, accepted or refused,
is one audit row: action ``task.unmask`` (target the task id) or ``process.unmask`` (target
the workflow id), the area of the record, and as the message the reason given; an accepted
row's ``reason`` column lists the kinds shown in clear (``address,name,phone``).

Who may see what in clear (PIPL art. 28: health data is sensitive and stays with doctors):

* the person who acts on a task (holds its current role over its community) sees every kind
  of that task's context, health included: the volunteer who calls the elder, the grid
  worker who hands the goods over, community staff on a home visit escalated to them;
* otherwise :data:`UNMASK_ROLES` decides, per kind, for grants covering the record's area
  (a task's community, a person's community): community staff, district admins and doctors
  see names, ID numbers, phones and addresses; only doctors see health readings;
* auditors read masked only (``read_only``): they audit processes, not people; API tokens
  of partner systems unmask nothing.

The record of a process is the one person it is about (:func:`careflow.task_context.
process_subject`); a campaign or an event has none.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from careflow.access.actions.attempts import Audited, now
from careflow.access.actions.tasks import TaskDetail, sees
from careflow.access.audit import Attempt
from careflow.access.principal import Principal
from careflow.access.refusals import Refused
from careflow.access.scope import district_of
from careflow.db import crud
from careflow.db.tables import Person, Task
from careflow.inputs import TEXT_MAX, ShortText
from careflow.models import TaskStatus
from careflow.privacy.masking import PERSONAL_KINDS, Personal, mask_items
from careflow.registry import PluginRegistry
from careflow.task_context import ContextItem, person_record, process_subject, task_context

__all__ = [
    "REASON_MAX",
    "UNMASK_ROLES",
    "RecordView",
    "area_unmask_kinds",
    "check_reason",
    "subject_of_process",
    "task_unmask_kinds",
    "unmask_process",
    "unmask_task",
]

_PEOPLE = frozenset({"community_staff", "district_admin", "doctor"})
UNMASK_ROLES: Mapping[Personal, frozenset[str]] = MappingProxyType(
    {
        "name": _PEOPLE,
        "phone": _PEOPLE,
        "id_number": _PEOPLE,
        "address": _PEOPLE,
        "health": frozenset({"doctor"}),
    }
)
"""Per kind of personal data, the roles whose grant over a record's area may show it in
clear (besides the person who acts on a task, who sees all of that task)."""

REASON_MAX = TEXT_MAX
"""The longest reason, in characters (after trimming)."""

_REASON = TypeAdapter(ShortText)


@dataclass(frozen=True, slots=True)
class RecordView:
    """A record's personal items as one principal sees them in one answer.

    Attributes:
        target: What the record is (a workflow id).
        items: The items, masked except for the kinds in ``clear``.
        may_unmask: Whether this principal may ask to see it in full.
        clear: The kinds shown in clear in this answer (none unless unmasked).
        request_id: The audited request that unmasked it, if one did.
    """

    target: str
    items: list[ContextItem]
    may_unmask: bool
    clear: frozenset[Personal] = field(default_factory=frozenset)
    request_id: str | None = None


# --- who may --------------------------------------------------------------------------------


def area_unmask_kinds(roles: Iterable[str]) -> frozenset[Personal]:
    """The kinds :data:`UNMASK_ROLES` lets holders of ``roles`` (over a record's area) see."""
    held = set(roles)
    return frozenset(kind for kind in PERSONAL_KINDS if UNMASK_ROLES[kind] & held)


def task_unmask_kinds(principal: Principal, task: Task) -> frozenset[Personal]:
    """The kinds of a task's context the principal may see in clear (none: may not unmask).

    Args:
        principal: Who asks.
        task: The task row.
    """
    if principal.token is not None:
        return frozenset()
    roles = principal.roles_at(task.district, task.community)
    if task.role in roles:
        return frozenset(PERSONAL_KINDS)
    return area_unmask_kinds(roles)


def _not_allowed(roles: Collection[str]) -> Refused:
    if roles and set(roles) <= {"auditor"}:
        return Refused(
            "read_only", "审计账号只能查看脱敏信息 auditors read personal data masked only"
        )
    return Refused(
        "wrong_role",
        "您的角色不能查看完整个人信息 your roles cannot see this record's personal data in full",
    )


def check_reason(reason: object) -> str:
    """The reason for an unmask, trimmed (runs of spaces and line breaks become one space).

    Raises:
        Refused: ``bad_input`` naming ``reason``: missing, empty, longer than
            :data:`REASON_MAX` or holding control characters.
    """
    if not isinstance(reason, str) or not reason.strip():
        raise Refused(
            "bad_input",
            "请填写查看完整信息的理由 state why you need to see this record in full",
            field="reason",
        )
    text = " ".join(reason.split())
    if len(text) > REASON_MAX:
        raise Refused(
            "bad_input",
            f"理由最多 {REASON_MAX} 个字符 the reason is at most {REASON_MAX} characters",
            field="reason",
        )
    try:
        return _REASON.validate_python(text)
    except ValidationError:
        raise Refused(
            "bad_input",
            "理由不能包含控制字符 the reason must not hold control characters",
            field="reason",
        ) from None


def _shown(items: Iterable[ContextItem], clear: Collection[Personal]) -> frozenset[Personal]:
    """The kinds of ``clear`` the items actually hold (what the audit row says was seen)."""
    return frozenset(i.personal for i in items if i.personal is not None and i.personal in clear)


def _kinds_column(kinds: Collection[Personal]) -> str:
    return ",".join(sorted(kinds)) or "none"


# --- a task ---------------------------------------------------------------------------------


def _task_in_view(audit: Audited, task_id: str) -> tuple[Principal, Task]:
    """The principal and the task, if the principal may see it; the audit learns its area.

    Raises:
        Refused: ``not_logged_in``, ``unknown``, ``wrong_role`` (another role's task in the
            principal's area), ``out_of_scope`` (another area's).
    """
    principal = audit.principal
    with Session(audit.engine) as session:
        task = crud.get_task(session, task_id=task_id)
    if task is None:
        raise Refused("unknown", f"没有这个工单 unknown task {task_id!r}", field="task_id")
    audit.district, audit.community = task.district, task.community
    if not sees(principal, task):
        if principal.reads(task.district, task.community):
            raise Refused(
                "wrong_role",
                f"该工单需由「{task.role}」处理 this task is for role {task.role}",
                field="task_id",
            )
        raise Refused(
            "out_of_scope", "该工单不在您的负责范围 this task is outside your area", field="task_id"
        )
    return principal, task


def _overdue(task: Task, at: datetime) -> bool:
    due = task.due_at if task.due_at.tzinfo else task.due_at.replace(tzinfo=UTC)
    return task.status == TaskStatus.OPEN and (task.overdue or due < at)


def unmask_task(
    engine: Engine,
    registry: PluginRegistry,
    attempt: Attempt,
    *,
    task_id: str,
    reason: Any,
) -> TaskDetail:
    """A task with its context in clear, as far as the principal may see it; audited.

    Checked in order, each refusal audited: logged in; not an API token; the task known and
    in scope; the principal may unmask some kind of it; the reason. Only the answer holds the
    values in clear.

    Args:
        engine: The app database.
        registry: The loaded plugins (the task's context view).
        attempt: Who asks, through which channel.
        task_id: The task.
        reason: Why the person needs to see it (see :func:`check_reason`).

    Raises:
        Refused: ``not_logged_in``; ``wrong_role`` (a token, or roles that may not unmask);
            ``read_only`` (an auditor); ``unknown``; ``out_of_scope``; ``bad_input`` naming
            ``reason``; ``database_unavailable``.
    """
    audit = Audited(engine, attempt, "task.unmask", target=task_id)
    with audit.checks():
        principal = audit.principal
        if principal.token is not None:
            raise Refused("wrong_role", "令牌不能查看完整个人信息 an API token cannot unmask")
        principal, task = _task_in_view(audit, task_id)
        clear = task_unmask_kinds(principal, task)
        if not clear:
            raise _not_allowed(principal.roles_at(task.district, task.community))
        stated = check_reason(reason)
        with Session(engine) as session:
            context = task_context(registry, session, task, unmasked=clear)
    shown = _shown(context, clear)
    audit.accepted(reason=_kinds_column(shown), message=stated)
    holds = principal.holds(task.role, task.district, task.community)
    return TaskDetail(
        task=task,
        context=context,
        may_complete=task.status == TaskStatus.OPEN and holds,
        unmasked=True,
        overdue=_overdue(task, now()),
        may_unmask=True,
        clear=shown,
    )


# --- the person a process is about ------------------------------------------------------------


def _subject(session: Session, workflow_id: str) -> Person | None:
    try:
        return session.get(Person, process_subject(session, workflow_id))
    except LookupError:
        return None


def _person_kinds(
    principal: Principal | None, person: Person
) -> tuple[list[str], frozenset[Personal]]:
    if principal is None or principal.token is not None:
        return [], frozenset()
    area = person.community_code
    roles = principal.roles_at(district_of(area) or area, area)
    return roles, area_unmask_kinds(roles)


def subject_of_process(
    engine: Engine, principal: Principal | None, *, workflow_id: str
) -> RecordView | None:
    """The person a process is about, masked, and whether the principal may unmask them.

    Shown beside a process the principal was allowed to read (that view is audited), so this
    masked read writes no row of its own. ``principal=None`` is the operator at the CLI with
    database access: masked, and nothing to unmask without an account.

    Returns:
        None when the process is not about one person (a campaign, an event).
    """
    with Session(engine) as session:
        person = _subject(session, workflow_id)
        if person is None:
            return None
        items = mask_items(person_record(session, person.id))
    _roles, kinds = _person_kinds(principal, person)
    return RecordView(target=workflow_id, items=items, may_unmask=bool(kinds))


def unmask_process(
    engine: Engine, attempt: Attempt, *, workflow_id: str, reason: Any
) -> RecordView:
    """The person a process is about, in clear as far as the principal may see; audited.

    The record's area is the person's community: a grant there decides (:data:`UNMASK_ROLES`),
    whoever started or works on the process.

    Raises:
        Refused: ``not_logged_in``; ``wrong_role`` (a token, or roles that may not unmask);
            ``read_only`` (an auditor); ``unknown`` (no such process, or no one person);
            ``out_of_scope``; ``bad_input`` naming ``reason``; ``database_unavailable``.
    """
    audit = Audited(engine, attempt, "process.unmask", target=workflow_id)
    with audit.checks():
        principal = audit.principal
        if principal.token is not None:
            raise Refused("wrong_role", "令牌不能查看完整个人信息 an API token cannot unmask")
        with Session(engine) as session:
            person = _subject(session, workflow_id)
        if person is None:
            raise Refused(
                "unknown",
                "该流程没有可显示的个人信息 no one person is on record for this process",
                field="workflow_id",
            )
        audit.district = district_of(person.community_code)
        audit.community = person.community_code
        roles, clear = _person_kinds(principal, person)
        if not roles:
            raise Refused(
                "out_of_scope",
                "此人不在您的负责范围 this person lives outside your area",
                field="workflow_id",
            )
        if not clear:
            raise _not_allowed(roles)
        stated = check_reason(reason)
        with Session(engine) as session:
            items = mask_items(person_record(session, person.id), clear=clear)
    audit.accepted(reason=_kinds_column(_shown(items, clear)), message=stated)
    return RecordView(
        target=workflow_id,
        items=items,
        may_unmask=True,
        clear=_shown(items, clear),
        request_id=attempt.request_id,
    )
