"""Consent to use a person's data for a purpose: the purposes, the age rule and the records.

PIPL art. 31: a child under 14 is sensitive personal information and needs a guardian's
consent; from the 14th birthday the child's own consent counts. Here:

* A **purpose** is a code with a Chinese title (:data:`PURPOSES`): what the data is used for
  and which processes use it (they are told of a withdrawal, and check consent before use).
* A consent is **granted by** the subject themself (relation ``self``), which counts only from
  the subject's 14th birthday on the day it was given, or by a guardian registered for the
  subject (:class:`~careflow.db.tables.Guardian`), in the relation the registry records.
  Age is counted in whole years by calendar date (:func:`age_on`): 13 years and 364 days is
  13. A child born on 29 February turns 14 on 1 March in a year without one.
* A consent **counts on a day** when it was given on or before that day and not withdrawn on
  or before it (:func:`has_consent`). A withdrawal keeps the row; at most one live consent per
  subject and purpose.

Bad input raises :class:`~careflow.errors.InputError` naming the field (``subject_id``,
``purpose``, ``granted_by``, ``relation``, ``granted_on``, ``evidence_ref``) before anything is
written. Audit and area checks belong to :mod:`careflow.access.actions.consent`; this module
takes a session and trusts its caller for who is acting.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, or_, select

from careflow.db.tables import Consent, Guardian, Person
from careflow.db.types import utcnow
from careflow.errors import InputError
from careflow.localtime import STAFF_TIMEZONE

__all__ = [
    "OWN_CONSENT_AGE",
    "PURPOSES",
    "RELATIONS",
    "SELF",
    "Purpose",
    "age_on",
    "check_evidence_ref",
    "consenting",
    "has_consent",
    "list_consents",
    "live_consent",
    "local_date",
    "may_consent_alone",
    "purpose_of",
    "purposes_for",
    "record_consent",
    "withdraw_consent",
    "withdrawn_subjects",
]

OWN_CONSENT_AGE = 14
"""From this birthday a child's own consent counts (PIPL art. 31)."""

SELF = "self"
"""The relation of a subject who consents for themself."""

RELATIONS: dict[str, str] = {
    SELF: "本人",
    "mother": "母亲",
    "father": "父亲",
    "grandmother": "祖母/外祖母",
    "grandfather": "祖父/外祖父",
    "guardian": "其他监护人",
}
"""Relations staff choose from, with the Chinese they read. A guardian's relation must be the
one the registry's guardian row records (a row may name another, e.g. ``aunt``)."""

_EVIDENCE_MAX = 64
_EVIDENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
# A run of 11+ digits is a phone or an ID number, never a form's reference.
_LONG_DIGITS = re.compile(r"\d{11,}")


@dataclass(frozen=True, slots=True)
class Purpose:
    """What a person's data is used for, and by which processes.

    Attributes:
        code: Stable code stored on the consent row (``microwish``).
        title_zh: What staff read (微心愿走访).
        title_en: English beside it.
        subject_kinds: Person kinds this purpose is about (``child``, ``elder``).
        processes: Process ids that use the data for this purpose: each checks consent
            before use and handles the ``consent_withdrawn`` signal.
    """

    code: str
    title_zh: str
    title_en: str
    subject_kinds: frozenset[str]
    processes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``微心愿走访 Micro-wish visit``."""
        return f"{self.title_zh} {self.title_en}"


PURPOSES: dict[str, Purpose] = {
    p.code: p
    for p in (
        Purpose(
            "microwish",
            "微心愿走访",
            "Micro-wish visit",
            frozenset({"child"}),
            ("childcare.microwish",),
        ),
        Purpose(
            "classroom",
            "五点半课堂",
            "Five-thirty classroom",
            frozenset({"child"}),
            # Sessions hear a withdrawal; enrolments check consent when a change is applied
            # and every later session's roster leaves the child out.
            ("childcare.classroom",),
        ),
        Purpose(
            "childcare_place",
            "托育服务",
            "Childcare place",
            frozenset({"child"}),
            ("childcare.places",),
        ),
        # A reading is refused at the door without it; a withdrawal ends the elder's monitor.
        Purpose(
            "health_monitoring",
            "健康监测",
            "Health monitoring",
            frozenset({"elder"}),
            ("eldercare.health_monitor",),
        ),
    )
}
"""Every purpose consent is recorded for, by code."""


def purpose_of(code: str) -> Purpose:
    """The purpose of ``code``.

    Raises:
        InputError: On ``purpose`` for an unknown code, listing the known ones.
    """
    found = PURPOSES.get(code)
    if found is None:
        raise InputError(
            "purpose",
            f"unknown purpose {code[:32]!r}; one of {', '.join(PURPOSES)} · 未知的用途",
        )
    return found


def purposes_for(kind: str) -> list[Purpose]:
    """The purposes that apply to a person of ``kind``."""
    return [p for p in PURPOSES.values() if kind in p.subject_kinds]


def age_on(birth: date, on: date) -> int:
    """Age in whole years on ``on``: the birthday must have come (29 Feb counts from 1 Mar)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def may_consent_alone(birth: date, on: date) -> bool:
    """Whether a person born on ``birth`` may consent for themself on ``on`` (14 or older)."""
    return age_on(birth, on) >= OWN_CONSENT_AGE


def local_date(moment: datetime) -> date:
    """The Asia/Shanghai calendar day of ``moment`` (a naive value is UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(STAFF_TIMEZONE).date()


def check_evidence_ref(value: str | None) -> str | None:
    """An evidence reference as stored: an opaque id of the signed form, or None.

    Raises:
        InputError: On ``evidence_ref``: too long, other characters than letters, digits and
            ``. _ : / -``, or a long run of digits (a phone or ID number is not a reference).
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > _EVIDENCE_MAX:
        raise InputError(
            "evidence_ref", f"at most {_EVIDENCE_MAX} characters · 最多 {_EVIDENCE_MAX} 个字符"
        )
    if not _EVIDENCE.match(value) or _LONG_DIGITS.search(value):
        raise InputError(
            "evidence_ref",
            "an opaque reference of the signed form (letters, digits, . _ : / -), never a "
            "name, phone or ID number · 只填同意书编号，不得含姓名、电话或身份证号",
        )
    return value


def _person(session: Session, person_id: str, field: str) -> Person:
    if not person_id or len(person_id) > 16:
        raise InputError(field, "a registry id of a person (P…) · 应为人员登记编号")
    person = session.get(Person, person_id)
    if person is None:
        raise InputError(field, f"no person {person_id!r} in the registry · 登记中没有此人")
    return person


def _today() -> date:
    return utcnow().astimezone(STAFF_TIMEZONE).date()


def _check_granter(
    session: Session, *, subject: Person, granted_by: str, relation: str, granted_on: date
) -> None:
    """The granter may consent for the subject on ``granted_on``, in ``relation``.

    Raises:
        InputError: ``granted_by`` (not the subject nor a registered guardian; a child under
            14 consenting alone) or ``relation`` (not the registry's relation).
    """
    if granted_by == subject.id:
        if relation != SELF:
            raise InputError(
                "relation",
                f"the subject consents as {SELF!r}, not {relation!r} · 本人同意应选“本人”",
            )
        if not may_consent_alone(subject.birth_date, granted_on):
            # No age in the message: it is audited, and an age is personal data.
            raise InputError(
                "granted_by",
                f"{subject.id} was under {OWN_CONSENT_AGE} on {granted_on}: a guardian must "
                f"consent · 未满{OWN_CONSENT_AGE}周岁，须由监护人同意",
            )
        return
    _person(session, granted_by, "granted_by")
    link = session.get(Guardian, (subject.id, granted_by))
    if link is None:
        raise InputError(
            "granted_by",
            f"{granted_by} is not a registered guardian of {subject.id} · 非该儿童的登记监护人",
        )
    if relation != link.relation:
        raise InputError(
            "relation",
            f"the registry records {granted_by} as {link.relation!r} of {subject.id}, "
            f"not {relation!r} · 与登记的监护关系不符",
        )


def live_consent(session: Session, *, subject_id: str, purpose: str) -> Consent | None:
    """The consent for ``purpose`` on record and not withdrawn, if any."""
    return session.exec(
        select(Consent).where(
            Consent.subject_id == subject_id,
            Consent.purpose == purpose,
            col(Consent.withdrawn_at).is_(None),
        )
    ).first()


def record_consent(
    session: Session,
    *,
    subject_id: str,
    purpose: str,
    granted_by: str,
    relation: str,
    granted_on: date,
    recorded_by: str,
    request_id: str,
    evidence_ref: str | None = None,
    today: date | None = None,
    recorded_at: datetime | None = None,
) -> Consent:
    """Record a consent after checking every rule; the caller commits.

    Args:
        session: The open session.
        subject_id: Whose data (registry id).
        purpose: A code of :data:`PURPOSES` that applies to the subject's kind.
        granted_by: Registry id of who consented: the subject (``relation="self"``, 14 or
            older on ``granted_on``) or a registered guardian of the subject.
        relation: ``self``, or the guardian's relation as the registry records it.
        granted_on: The day the form was signed: not before the subject's birth, not after
            ``today``.
        recorded_by: The staff account recording it.
        request_id: The attempt's request id.
        evidence_ref: Opaque reference of the signed form (:func:`check_evidence_ref`).
        today: The current day in Asia/Shanghai; the clock's by default.
        recorded_at: When it is recorded (UTC); now by default.

    Returns:
        The new row (flushed: its id is set).

    Raises:
        InputError: Naming the field; nothing is added to the session.
    """
    subject = _person(session, subject_id, "subject_id")
    chosen = purpose_of(purpose)
    if subject.kind not in chosen.subject_kinds:
        raise InputError(
            "purpose",
            f"{chosen.code} is for {'/'.join(sorted(chosen.subject_kinds))}, and {subject.id} "
            f"is registered as {subject.kind} · 此用途不适用于该人员",
        )
    if relation not in RELATIONS and len(relation) > 16:
        raise InputError("relation", "at most 16 characters · 最多 16 个字符")
    day = today or _today()
    if granted_on > day:
        raise InputError("granted_on", f"{granted_on} is in the future · 签署日期不能晚于今天")
    if granted_on < subject.birth_date:
        raise InputError(
            "granted_on", f"{granted_on} is before {subject.id} was born · 签署日期早于出生日期"
        )
    _check_granter(
        session, subject=subject, granted_by=granted_by, relation=relation, granted_on=granted_on
    )
    evidence = check_evidence_ref(evidence_ref)
    existing = live_consent(session, subject_id=subject.id, purpose=chosen.code)
    if existing is not None:
        raise InputError(
            "purpose",
            f"consent #{existing.id} for {chosen.code} is already on record for {subject.id}; "
            "withdraw it first to record another · 已有有效同意",
        )
    row = Consent(
        subject_id=subject.id,
        purpose=chosen.code,
        granted_by_id=granted_by,
        relation=relation,
        granted_on=granted_on,
        recorded_by=recorded_by,
        recorded_at=recorded_at or utcnow(),
        evidence_ref=evidence,
        request_id=request_id,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        # Someone recorded the same consent a moment ago (the live-consent unique index).
        raise InputError(
            "purpose",
            f"a consent for {chosen.code} was just recorded for {subject.id} · 已有有效同意",
        ) from None
    return row


def withdraw_consent(
    session: Session,
    *,
    subject_id: str,
    purpose: str,
    withdrawn_by: str,
    at: datetime | None = None,
) -> Consent:
    """Withdraw the live consent of ``subject_id`` for ``purpose``; the caller commits.

    Raises:
        InputError: ``subject_id`` (no such person), ``purpose`` (unknown, never granted, or
            already withdrawn). Nothing is changed then.
    """
    subject = _person(session, subject_id, "subject_id")
    chosen = purpose_of(purpose)
    row = session.exec(
        select(Consent)
        .where(
            Consent.subject_id == subject.id,
            Consent.purpose == chosen.code,
            col(Consent.withdrawn_at).is_(None),
        )
        .with_for_update()
    ).first()
    if row is None:
        earlier = session.exec(
            select(Consent)
            .where(Consent.subject_id == subject.id, Consent.purpose == chosen.code)
            .order_by(col(Consent.withdrawn_at).desc())
        ).first()
        if earlier is not None and earlier.withdrawn_at is not None:
            raise InputError(
                "purpose",
                f"the consent of {subject.id} for {chosen.code} was already withdrawn "
                f"(#{earlier.id}) · 该同意已撤回",
            )
        raise InputError(
            "purpose",
            f"no consent of {subject.id} for {chosen.code} was ever recorded · 未登记过此同意",
        )
    row.withdrawn_at = at or utcnow()
    row.withdrawn_by = withdrawn_by
    session.add(row)
    session.flush()
    return row


def _counts_on(on: date) -> list[ColumnElement[bool]]:
    """Conditions of a consent that counts on day ``on``."""
    # Withdrawn on or before ``on`` (local day) means it no longer counts that day: compare
    # with the first moment of the next local day.
    end = datetime.combine(on + timedelta(days=1), time(), STAFF_TIMEZONE)
    return [
        col(Consent.granted_on) <= on,
        or_(col(Consent.withdrawn_at).is_(None), col(Consent.withdrawn_at) >= end),
    ]


def has_consent(session: Session, *, subject_id: str, purpose: str, on: date) -> bool:
    """Whether a consent of ``subject_id`` for ``purpose`` counts on day ``on``.

    A consent recorded by these rules stays valid after the subject's 14th birthday until it
    is withdrawn (the guardian's consent was right when given).
    """
    return bool(consenting(session, subject_ids=[subject_id], purpose=purpose, on=on))


def consenting(session: Session, *, subject_ids: Iterable[str], purpose: str, on: date) -> set[str]:
    """Which of ``subject_ids`` have a consent for ``purpose`` that counts on ``on``."""
    wanted = sorted(set(subject_ids))
    if not wanted:
        return set()
    found: set[str] = set()
    # Chunks keep the IN list within what every backend takes.
    for start in range(0, len(wanted), 500):
        rows = session.exec(
            select(Consent.subject_id).where(
                col(Consent.subject_id).in_(wanted[start : start + 500]),
                Consent.purpose == purpose,
                *_counts_on(on),
            )
        ).all()
        found.update(rows)
    return found


def list_consents(
    session: Session,
    *,
    subject_id: str | None = None,
    area: str | None = None,
    purpose: str | None = None,
    live_only: bool = False,
    limit: int = 200,
) -> Sequence[tuple[Consent, Person]]:
    """Consents with their subjects, newest first.

    Args:
        session: The open session.
        subject_id: Only this person's.
        area: Only subjects of this district, street or community (dotted prefix);
            ``taiyuan`` or None for all.
        purpose: Only this purpose.
        live_only: Leave out withdrawn consents.
        limit: At most this many (1-1000).
    """
    statement = select(Consent, Person).join(Person, col(Person.id) == col(Consent.subject_id))
    if subject_id is not None:
        statement = statement.where(Consent.subject_id == subject_id)
    if area is not None and area != "taiyuan":
        statement = statement.where(
            or_(
                col(Person.community_code) == area,
                col(Person.community_code).startswith(area + "."),
            )
        )
    if purpose is not None:
        statement = statement.where(Consent.purpose == purpose)
    if live_only:
        statement = statement.where(col(Consent.withdrawn_at).is_(None))
    statement = statement.order_by(col(Consent.recorded_at).desc(), col(Consent.id).desc()).limit(
        max(1, min(limit, 1000))
    )
    return [(c, p) for c, p in session.exec(statement).all()]


def withdrawn_subjects(session: Session, *, purpose: str, before: datetime) -> list[str]:
    """Subjects whose consent for ``purpose`` was withdrawn before ``before`` and who have no
    live consent for it now: the people whose data for that purpose a retention run removes."""
    withdrawn = set(
        session.exec(
            select(Consent.subject_id).where(
                Consent.purpose == purpose,
                col(Consent.withdrawn_at).is_not(None),
                col(Consent.withdrawn_at) < before,
            )
        ).all()
    )
    if not withdrawn:
        return []
    live = set(
        session.exec(
            select(Consent.subject_id).where(
                Consent.purpose == purpose,
                col(Consent.withdrawn_at).is_(None),
                col(Consent.subject_id).in_(sorted(withdrawn)),
            )
        ).all()
    )
    return sorted(withdrawn - live)
