"""Consent 同意: recording, withdrawing and reading consents, as an authenticated staff account.

Community staff and district admins whose grants cover the subject's community record and
withdraw consents; auditors also read them. Every attempt writes one audit row (target
``<subject>/<purpose>`` while refused, ``consent:<id>`` once written). A refusal names the
field and writes nothing else: a subject not in the registry (``subject_id``), an unknown
purpose (``purpose``), a granter who is neither the subject aged 14 or more nor a registered
guardian (``granted_by``), a relation the registry does not record (``relation``), a
withdrawal of a consent never granted or already withdrawn (``purpose``).

A withdrawal is written first, then the running processes of the purpose in the subject's
district are told with the ``consent_withdrawn`` signal (found through the search attributes
``CareDistrict`` and ``CareProcess``). A process that holds the subject ends its work for them
gracefully; the others ignore the signal. Temporal being down never refuses a withdrawal: it is
effective at once (every process checks consent before it uses the data) and the audit row
says the processes were not told (``processes_not_told``).
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from careflow.access.actions.attempts import Audited, ClientSource
from careflow.access.audit import Attempt
from careflow.access.principal import Principal
from careflow.access.refusals import Refused
from careflow.access.scope import CITY, covers
from careflow.db.engine import session_scope
from careflow.db.tables import Consent, Person
from careflow.errors import InputError
from careflow.privacy import consent as rules
from careflow.privacy.withdrawal import CONSENT_WITHDRAWN_SIGNAL, ConsentWithdrawn

__all__ = [
    "CONSENT_READ_ROLES",
    "CONSENT_ROLES",
    "TELL_WITHIN",
    "ConsentView",
    "Withdrawal",
    "list_consents",
    "record_consent",
    "withdraw_consent",
]

CONSENT_ROLES = frozenset({"community_staff", "district_admin"})
"""Roles that record and withdraw consents over the areas their grants cover."""
CONSENT_READ_ROLES = CONSENT_ROLES | {"auditor"}
"""Roles that read consents."""
TELL_WITHIN = 15.0
"""Seconds a withdrawal waits for Temporal to find and signal the running processes."""


class ConsentView(BaseModel):
    """A consent as staff read it: registry ids and codes, times in UTC."""

    id: int
    subject_id: str
    community: str
    purpose: str
    purpose_zh: str
    granted_by: str
    relation: str
    relation_zh: str
    granted_on: date
    recorded_by: str
    recorded_at: datetime
    withdrawn_at: datetime | None = None
    withdrawn_by: str | None = None
    evidence_ref: str | None = None
    request_id: str
    live: bool

    @classmethod
    def of(cls, row: Consent, subject: Person) -> ConsentView:
        """The view of ``row`` about ``subject``."""
        found = rules.PURPOSES.get(row.purpose)
        return cls(
            id=row.id or 0,
            subject_id=row.subject_id,
            community=subject.community_code,
            purpose=row.purpose,
            purpose_zh=found.title_zh if found else row.purpose,
            granted_by=row.granted_by_id,
            relation=row.relation,
            relation_zh=rules.RELATIONS.get(row.relation, row.relation),
            granted_on=row.granted_on,
            recorded_by=row.recorded_by,
            recorded_at=row.recorded_at,
            withdrawn_at=row.withdrawn_at,
            withdrawn_by=row.withdrawn_by,
            evidence_ref=row.evidence_ref,
            request_id=row.request_id,
            live=row.withdrawn_at is None,
        )


class Withdrawal(BaseModel):
    """What a withdrawal did: the consent as withdrawn and the running processes told."""

    consent: ConsentView
    told: list[str]
    """Workflow ids of the running processes that were signalled."""
    not_told: str | None = None
    """Why the processes could not be told (Temporal unreachable), or None."""
    request_id: str
    message: str


def _subject(audit: Audited, subject_id: str, roles: frozenset[str]) -> tuple[Principal, Person]:
    """The principal and the subject, if a grant of one of ``roles`` covers the subject.

    Raises:
        Refused / InputError: ``not_logged_in``; ``subject_id`` not in the registry;
            ``wrong_role`` (a token, or no such role there), ``out_of_scope``.
    """
    principal = audit.principal
    if not subject_id or len(subject_id) > 16:
        raise InputError("subject_id", "a registry id of a person (P…) · 应为人员登记编号")
    with Session(audit.engine) as session:
        person = session.get(Person, subject_id)
    if person is None:
        raise InputError("subject_id", f"no person {subject_id!r} in the registry · 登记中没有此人")
    district = person.community_code.split(".", 1)[0]
    audit.district, audit.community = district, person.community_code
    if principal.token is not None:
        raise Refused("wrong_role", "令牌不能处理同意 an API token cannot act on consents")
    held = set(principal.roles_at(district, person.community_code))
    if not held:
        raise Refused(
            "out_of_scope",
            "该人员不在您的负责范围 this person is outside your area",
            field="subject_id",
        )
    if not held & roles:
        raise Refused(
            "wrong_role",
            "您的角色不能处理同意 your roles cannot act on consents here "
            f"(needs one of: {', '.join(sorted(roles))})",
        )
    return principal, person


def _day(value: date | str) -> date:
    """A signing day given as a date or as ``YYYY-MM-DD`` (console and API send text)."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(
            "granted_on", f"not a date: {value[:32]!r} (e.g. 2026-12-01) · 日期格式应为 年-月-日"
        ) from None


def record_consent(
    engine: Engine,
    attempt: Attempt,
    *,
    subject_id: str,
    purpose: str,
    granted_by: str,
    relation: str,
    granted_on: date | str,
    evidence_ref: str | None = None,
    today: date | None = None,
) -> ConsentView:
    """Record a consent as the attempt's principal; audited (``consent.record``).

    Args:
        engine: The app database.
        attempt: Who records it.
        subject_id: Whose data (registry id).
        purpose: A purpose code (``careflow.privacy.consent.PURPOSES``).
        granted_by: Who consented: the subject (14 or older) or a registered guardian.
        relation: ``self`` or the guardian's relation as registered.
        granted_on: The day the form was signed (a date, or ``YYYY-MM-DD``).
        evidence_ref: Opaque reference of the signed form.
        today: The current local day (tests); the clock's by default.

    Raises:
        Refused: ``not_logged_in``, ``wrong_role``/``out_of_scope``, ``bad_input`` naming the
            field; nothing is written but the audit row.
    """
    audit = Audited(engine, attempt, "consent.record", target=f"{subject_id[:16]}/{purpose[:32]}")
    with audit.checks(label="同意未登记 consent not recorded:"):
        principal, person = _subject(audit, subject_id, CONSENT_ROLES)
        day = _day(granted_on)
        with session_scope(engine) as session:
            row = rules.record_consent(
                session,
                subject_id=person.id,
                purpose=purpose,
                granted_by=granted_by,
                relation=relation,
                granted_on=day,
                recorded_by=principal.staff_id,
                request_id=attempt.request_id,
                evidence_ref=evidence_ref,
                today=today,
            )
            view = ConsentView.of(row, person)
    audit.target = f"consent:{view.id}"
    audit.accepted()
    return view


async def withdraw_consent(
    client: ClientSource,
    engine: Engine,
    attempt: Attempt,
    *,
    subject_id: str,
    purpose: str,
    tell_within: float = TELL_WITHIN,
) -> Withdrawal:
    """Withdraw a consent as the attempt's principal and tell the running processes; audited.

    Raises:
        Refused: As :func:`record_consent`; ``bad_input`` on ``purpose`` for a consent never
            granted or already withdrawn. Temporal being unreachable is not a refusal.
    """
    audit = Audited(engine, attempt, "consent.withdraw", target=f"{subject_id[:16]}/{purpose[:32]}")
    with audit.checks(label="同意未撤回 consent not withdrawn:"):
        principal, person = _subject(audit, subject_id, CONSENT_ROLES)
        with session_scope(engine) as session:
            row = rules.withdraw_consent(
                session, subject_id=person.id, purpose=purpose, withdrawn_by=principal.staff_id
            )
            view = ConsentView.of(row, person)
    audit.target = f"consent:{view.id}"
    assert view.withdrawn_at is not None
    signal = ConsentWithdrawn(
        subject_ref=view.subject_id,
        purpose=view.purpose,
        withdrawn_at=view.withdrawn_at,
        consent_id=view.id,
        request_id=attempt.request_id,
    )
    told: list[str] = []
    problem: str | None = None
    try:
        await asyncio.wait_for(
            _tell(client, signal, district=audit.district or "", told=told), tell_within
        )
    except Exception as err:
        # Whatever kept Temporal from being told (no connection, a refused query, a timeout,
        # the caller's own connect error), the withdrawal stands: each process checks consent
        # again before it uses the data.
        problem = f"{type(err).__name__}"
    audit.accepted(reason=None if problem is None else "processes_not_told")
    if problem is None:
        message = (
            f"已撤回同意，已通知 {len(told)} 个运行中的流程 "
            f"withdrawn; {len(told)} running processes told"
        )
    else:
        message = (
            "已撤回同意；流程引擎暂不可用，运行中的流程将在下次使用数据前核对 "
            "withdrawn; Temporal is unreachable, running processes check consent before they "
            "next use the data"
        )
    return Withdrawal(
        consent=view, told=told, not_told=problem, request_id=attempt.request_id, message=message
    )


async def _tell(
    source: ClientSource, signal: ConsentWithdrawn, *, district: str, told: list[str]
) -> None:
    """Signal the running processes of the purpose in ``district``; fills ``told``."""
    processes = rules.PURPOSES[signal.purpose].processes
    if not processes:
        return
    client = source if isinstance(source, Client) else await source()
    # District and process ids are codes checked against the registry: safe to quote here.
    names = ", ".join(f'"{p}"' for p in processes)
    query = (
        f'ExecutionStatus = "Running" AND CareDistrict = "{district}" AND CareProcess IN ({names})'
    )
    ids = [execution.id async for execution in client.list_workflows(query)]
    for workflow_id in sorted(set(ids)):
        try:
            await client.get_workflow_handle(workflow_id).signal(CONSENT_WITHDRAWN_SIGNAL, signal)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                continue  # it ended meanwhile
            raise
        told.append(workflow_id)


def _read_areas(principal: Principal) -> list[str]:
    return sorted({g.area for g in principal.grants if g.role in CONSENT_READ_ROLES})


def list_consents(
    engine: Engine,
    attempt: Attempt,
    *,
    subject_id: str | None = None,
    area: str | None = None,
    purpose: str | None = None,
    live_only: bool = False,
    limit: int = 200,
) -> list[ConsentView]:
    """Consents of the subjects in the principal's areas, newest first; audited
    (``consent.list``: the list names children and their guardians by registry id).

    Raises:
        Refused: ``not_logged_in``; ``wrong_role`` without a reading role; ``out_of_scope``
            for an area or subject outside the grants; ``bad_input`` on ``purpose``.
    """
    audit = Audited(engine, attempt, "consent.list", target=subject_id or area)
    with audit.checks():
        principal = audit.principal
        if purpose is not None:
            rules.purpose_of(purpose)
        if subject_id is not None:
            _subject(audit, subject_id, CONSENT_READ_ROLES)
            areas = [CITY]
        else:
            if principal.token is not None:
                raise Refused("wrong_role", "令牌不能查看同意 an API token cannot read consents")
            areas = _read_areas(principal)
            if not areas:
                raise Refused("wrong_role", "您的角色不能查看同意 your roles cannot read consents")
            if area is not None:
                if not any(covers(a, area) for a in areas):
                    raise Refused(
                        "out_of_scope",
                        f"不在您的负责范围 {area} is outside your area",
                        field="area",
                    )
                areas = [area]
                audit.district = area.split(".", 1)[0] if area != CITY else None
    views: dict[int, ConsentView] = {}
    with Session(engine) as session:
        for where in areas:
            for row, person in rules.list_consents(
                session,
                subject_id=subject_id,
                area=where,
                purpose=purpose,
                live_only=live_only,
                limit=limit,
            ):
                views[row.id or 0] = ConsentView.of(row, person)
    audit.accepted()
    ordered = sorted(views.values(), key=lambda v: (v.recorded_at, v.id), reverse=True)
    return ordered[: max(1, min(limit, 1000))]
