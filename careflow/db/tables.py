"""The tables of the app database: the registry, human tasks, case records and the outbox.

Registry rows (areas, people, households, volunteers, providers, donors, staff) hold the
personal data; workflows and logs only ever see their opaque ids. Task, case-record and
notification rows are written by activities and are unique on (workflow id, step key), which
makes a retried activity a no-op.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Index, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from careflow.db.types import UTCDateTime, utcnow

__all__ = [
    "AREA_LEVELS",
    "AUDIT_CHANNELS",
    "AUDIT_OUTCOMES",
    "NAMING_CONVENTION",
    "NOTIFICATION_STATUSES",
    "PERSON_KINDS",
    "PROVIDER_KINDS",
    "ApiToken",
    "Area",
    "AuditEntry",
    "CaseRecord",
    "Consent",
    "Donor",
    "FamilyDoctorContract",
    "Guardian",
    "Household",
    "HouseholdMember",
    "IngressDeadLetter",
    "IngressMessage",
    "Notification",
    "Pairing",
    "Person",
    "Provider",
    "Staff",
    "StaffGrant",
    "StaffSession",
    "Task",
    "Volunteer",
    "WorkerPresence",
]

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names, so that later SQLite batch migrations can address every constraint."""

SQLModel.metadata.naming_convention = NAMING_CONVENTION

AREA_LEVELS = ("district", "street", "community")
PERSON_KINDS = ("elder", "child", "adult")
PROVIDER_KINDS = ("hospital", "health_centre", "dining_table", "childcare")
NOTIFICATION_STATUSES = ("pending", "sent", "failed")
AUDIT_CHANNELS = ("console", "api", "cli")
AUDIT_OUTCOMES = ("accepted", "refused", "failed")


# --- registry -------------------------------------------------------------------------------


class Area(SQLModel, table=True):
    """An administrative area: district 区 → street 街道 → community 社区."""

    __tablename__ = "area"

    code: str = Field(primary_key=True, max_length=64)
    level: str = Field(max_length=16, description="'district', 'street' or 'community'.")
    parent_code: str | None = Field(default=None, foreign_key="area.code", index=True)
    name_zh: str = Field(max_length=64)
    name_en: str = Field(max_length=128)


class Person(SQLModel, table=True):
    """A resident known to a community: an elder, a child or an adult (guardian, volunteer)."""

    __tablename__ = "person"

    id: str = Field(primary_key=True, max_length=16, description="E.g. 'P00001'.")
    kind: str = Field(max_length=8, index=True, description="'elder', 'child' or 'adult'.")
    name: str = Field(max_length=32)
    id_number: str = Field(max_length=18)
    phone: str | None = Field(default=None, max_length=20)
    address: str | None = Field(default=None, max_length=128)
    gender: str = Field(max_length=1, description="'M' or 'F'.")
    birth_date: date
    community_code: str = Field(foreign_key="area.code", index=True)
    lives_alone: bool = False
    disability_level: int = Field(default=0, ge=0, le=4, description="0 none … 4 most severe.")
    low_income: bool = Field(default=False, description="Receives minimum living allowance 低保.")
    pensioner: bool = False
    home_bound: bool = False


class Household(SQLModel, table=True):
    """A household 户 registered in a community."""

    __tablename__ = "household"

    id: str = Field(primary_key=True, max_length=16, description="E.g. 'H00001'.")
    community_code: str = Field(foreign_key="area.code", index=True)
    low_income: bool = False


class HouseholdMember(SQLModel, table=True):
    """A person's membership of a household."""

    __tablename__ = "household_member"

    household_id: str = Field(foreign_key="household.id", primary_key=True)
    person_id: str = Field(foreign_key="person.id", primary_key=True, index=True)
    relation: str = Field(max_length=16, description="'head', 'child', 'parent', 'grandparent'…")


class Guardian(SQLModel, table=True):
    """An adult responsible for a child, and whether they may collect the child."""

    __tablename__ = "guardian"

    child_id: str = Field(foreign_key="person.id", primary_key=True)
    guardian_id: str = Field(foreign_key="person.id", primary_key=True, index=True)
    relation: str = Field(max_length=16, description="'mother', 'father', 'grandmother'…")
    authorised_pickup: bool = False


class Volunteer(SQLModel, table=True):
    """A volunteer 志愿者 of a community."""

    __tablename__ = "volunteer"

    id: str = Field(primary_key=True, max_length=16, description="E.g. 'V0001'.")
    person_id: str | None = Field(default=None, foreign_key="person.id")
    name: str = Field(max_length=32)
    phone: str | None = Field(default=None, max_length=20)
    community_code: str = Field(foreign_key="area.code", index=True)
    kind: str = Field(max_length=16, description="'student', 'party_member' or 'resident'.")


class Pairing(SQLModel, table=True):
    """A volunteer paired with an elder: a curtain check 窗帘之约 or one-to-one care."""

    __tablename__ = "pairing"

    id: int | None = Field(default=None, primary_key=True)
    volunteer_id: str = Field(foreign_key="volunteer.id", index=True)
    elder_id: str = Field(foreign_key="person.id", index=True)
    kind: str = Field(max_length=16, description="'curtain' or 'one_to_one'.")
    active: bool = True


class Provider(SQLModel, table=True):
    """A service provider: hospital, community health centre, small dining table or childcare."""

    __tablename__ = "provider"

    id: str = Field(primary_key=True, max_length=32)
    kind: str = Field(max_length=16, index=True)
    name_zh: str = Field(max_length=64)
    district_code: str = Field(foreign_key="area.code", index=True)
    community_code: str | None = Field(default=None, foreign_key="area.code")
    capacity: int | None = None
    partner: bool = Field(default=False, description="A partner hospital of the green channel.")


class Donor(SQLModel, table=True):
    """A person or organisation that pledges goods or money 捐赠方."""

    __tablename__ = "donor"

    id: str = Field(primary_key=True, max_length=16, description="E.g. 'D0001'.")
    name: str = Field(max_length=64)
    kind: str = Field(max_length=16, description="'person' or 'organisation'.")
    district_code: str = Field(foreign_key="area.code", index=True)
    phone: str | None = Field(default=None, max_length=20)


class Staff(SQLModel, table=True):
    """An account that acts in processes: a member of staff, or a partner system.

    ``role``, ``district_code`` and ``community_code`` say where the person works (the registry
    view, e.g. which doctor a family-doctor contract names). What an account may *do* is decided
    by its grants (:class:`StaffGrant`) alone.
    """

    __tablename__ = "staff"

    id: str = Field(primary_key=True, max_length=16, description="E.g. 'S0001'.")
    name: str = Field(max_length=32)
    role: str = Field(max_length=32, index=True, description="A careflow.roles.Role value.")
    district_code: str = Field(foreign_key="area.code", index=True)
    community_code: str | None = Field(default=None, foreign_key="area.code")
    kind: str = Field(default="person", max_length=16, description="'person' or 'system'.")
    username: str | None = Field(default=None, max_length=64, unique=True)
    password_hash: str | None = Field(default=None, max_length=255)
    active: bool = True
    failed_logins: int = Field(default=0, description="Failed logins since the last success.")
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class FamilyDoctorContract(SQLModel, table=True):
    """A resident's contract with a family doctor 家庭医生签约 at the community health centre.

    One current contract per person; the doctor is a staff member with the doctor role.
    """

    __tablename__ = "family_doctor_contract"

    person_id: str = Field(primary_key=True, foreign_key="person.id", max_length=16)
    doctor_id: str = Field(foreign_key="staff.id", index=True, max_length=16)
    signed_on: date


# --- process read models ----------------------------------------------------------------------


class Task(SQLModel, table=True):
    """A human task 工单 in a role's inbox; the workflow stays the source of truth."""

    __tablename__ = "task"
    __table_args__ = (
        UniqueConstraint("workflow_id", "step_key", name="uq_task_workflow_step"),
        Index("ix_task_status_role_district", "status", "role", "district"),
        # A district's figures (migration 0007_core_figures_indexes): the tasks section by
        # district and time, a process's section by process, district and time. Each also
        # holds the columns its sections count, so a period is read from the index alone
        # and never from the rows (each carries its form's JSON Schema: ~1.6 kB).
        Index(
            "ix_task_figures_district",
            "district",
            "opened_at",
            "community",
            "role",
            "status",
            "due_at",
            "closed_at",
            "overdue",
            "escalation_level",
        ),
        Index(
            "ix_task_figures_process",
            "process",
            "district",
            "opened_at",
            "step_key",
            "community",
            "case_ref",
            "status",
            "due_at",
            "closed_at",
            "escalation_level",
            "overdue",
        ),
    )

    task_id: str = Field(primary_key=True, max_length=255)
    workflow_id: str = Field(max_length=255, index=True)
    step_key: str = Field(max_length=255)
    process: str = Field(max_length=128)
    module: str = Field(max_length=64)
    district: str = Field(max_length=64)
    community: str | None = Field(default=None, max_length=64)
    case_ref: str = Field(max_length=128)
    role: str = Field(max_length=32)
    title_zh: str = Field(max_length=255)
    title_en: str = Field(max_length=255)
    form_ref: str = Field(max_length=255)
    form_schema: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default="open", max_length=16, description="A TaskStatus value.")
    escalation_level: int = 0
    overdue: bool = False
    due_at: datetime = Field(sa_type=UTCDateTime)
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_by: str | None = Field(default=None, max_length=64)
    completed_role: str | None = Field(default=None, max_length=32)
    result: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    assignee: str | None = Field(
        default=None, max_length=16, index=True, description="Staff id of who claimed it."
    )
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CaseRecord(SQLModel, table=True):
    """One event in the record of a case."""

    __tablename__ = "case_record"
    __table_args__ = (
        UniqueConstraint("workflow_id", "step_key", name="uq_case_record_workflow_step"),
        # A process's figures count its records of a kind in a period (0007).
        Index(
            "ix_case_record_process_district_kind_created_at",
            "process",
            "district",
            "kind",
            "created_at",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    workflow_id: str = Field(max_length=255, index=True)
    step_key: str = Field(max_length=255)
    process: str = Field(max_length=128)
    district: str = Field(max_length=64)
    case_ref: str = Field(max_length=128, index=True)
    kind: str = Field(max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Notification(SQLModel, table=True):
    """A notification in the outbox; the row stays as the visible record once sent."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("workflow_id", "step_key", name="uq_notification_workflow_step"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workflow_id: str = Field(max_length=255, index=True)
    step_key: str = Field(max_length=255)
    district: str = Field(max_length=64)
    community: str | None = Field(default=None, max_length=64)
    recipient_ref: str = Field(max_length=128)
    template: str = Field(max_length=128)
    body_zh: str
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default="pending", max_length=16, index=True)
    adapter: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WorkerPresence(SQLModel, table=True):
    """A running worker and the plugin versions it serves, refreshed while it runs.

    A start checks a plan's plugins against the live rows (``seen_at`` recent), so that no
    process starts that no running worker can run (see ``careflow.workers``).
    """

    __tablename__ = "worker_presence"

    identity: str = Field(primary_key=True, max_length=255, description="Unique per run.")
    task_queue: str = Field(max_length=255, index=True)
    plugins: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- access: grants, tokens, sessions and the audit trail --------------------------------------


class StaffGrant(SQLModel, table=True):
    """A role an account holds over an area; a grant at an area covers everything under it.

    ``area_code`` is ``taiyuan`` (the whole city), a district, a street or a community code.
    A revoked grant keeps its row (``revoked_at``) as the record of what was held when.
    """

    __tablename__ = "staff_grant"
    __table_args__ = (
        UniqueConstraint("staff_id", "role", "area_code", name="uq_staff_grant_role_area"),
    )

    id: int | None = Field(default=None, primary_key=True)
    staff_id: str = Field(foreign_key="staff.id", index=True, max_length=16)
    role: str = Field(max_length=32)
    area_code: str = Field(max_length=64)
    granted_by: str = Field(max_length=64)
    granted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiToken(SQLModel, table=True):
    """A machine client's token: only its SHA-256 is stored; scoped, revocable, expiring.

    The secret is shown once when it is issued (``cft_<id>_<secret>``).
    """

    __tablename__ = "api_token"

    id: str = Field(primary_key=True, max_length=16, description="Public part of the token.")
    staff_id: str = Field(foreign_key="staff.id", index=True, max_length=16)
    name: str = Field(max_length=64)
    secret_hash: str = Field(max_length=64)
    event_types: list[str] = Field(default_factory=list, sa_type=JSON)
    districts: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StaffSession(SQLModel, table=True):
    """A console login: the cookie holds a random secret, the row only its SHA-256."""

    __tablename__ = "staff_session"

    id_hash: str = Field(primary_key=True, max_length=64)
    staff_id: str = Field(foreign_key="staff.id", index=True, max_length=16)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    """One attempt at an action, accepted or refused. Append-only: the code has no update or
    delete path, and a database trigger refuses both (see migration ``0004_core_access``)."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_district_at", "district", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    request_id: str = Field(max_length=64, index=True)
    actor: str = Field(max_length=64, index=True, description="Account id, or what was tried.")
    channel: str = Field(max_length=16, description="'console', 'api' or 'cli'.")
    action: str = Field(max_length=64, index=True)
    target: str | None = Field(default=None, max_length=255)
    district: str | None = Field(default=None, max_length=64)
    community: str | None = Field(default=None, max_length=64)
    outcome: str = Field(max_length=16, description="'accepted', 'refused' or 'failed'.")
    reason: str | None = Field(default=None, max_length=64, description="A rule or field code.")
    message: str | None = Field(default=None, max_length=500)


# --- privacy: consent to use a person's data for a purpose -------------------------------------


class Consent(SQLModel, table=True):
    """Consent to use a person's data for one purpose (PIPL arts. 14, 15, 31).

    Who granted it and in what relation: the subject themself (``self``, from the 14th
    birthday) or a registered guardian (the :class:`Guardian` row's relation). A withdrawal
    keeps the row (``withdrawn_at``) as the record of what was allowed when; at most one live
    (not withdrawn) consent per subject and purpose. The rules are in
    ``careflow.privacy.consent``.
    """

    __tablename__ = "consent"
    __table_args__ = (
        Index(
            "uq_consent_live_subject_purpose",
            "subject_id",
            "purpose",
            unique=True,
            sqlite_where=text("withdrawn_at IS NULL"),
            postgresql_where=text("withdrawn_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    subject_id: str = Field(foreign_key="person.id", index=True, max_length=16)
    purpose: str = Field(max_length=32, index=True, description="A purpose code, e.g. 'microwish'.")
    granted_by_id: str = Field(foreign_key="person.id", index=True, max_length=16)
    relation: str = Field(max_length=16, description="'self', or the guardian's relation.")
    granted_on: date
    recorded_by: str = Field(max_length=64, description="Staff account that recorded it.")
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    withdrawn_by: str | None = Field(
        default=None, max_length=64, description="Staff account that recorded the withdrawal."
    )
    evidence_ref: str | None = Field(
        default=None, max_length=64, description="Opaque reference of the signed form."
    )
    request_id: str = Field(max_length=64, description="The recording attempt's request id.")


# --- ingress: messages taken from the broker, and the ones it refused --------------------------


class IngressMessage(SQLModel, table=True):
    """One device or partner message the ingress took, keyed by its event id.

    The key makes taking a message idempotent: a redelivered message or a device's duplicate
    finds its row and changes nothing. ``pending`` means delivery is under way or its outcome
    unknown (a crash, Temporal unreachable); ``delivered`` and ``dead`` are final. Settled rows
    are kept for the ingress's deduplication window, then purged.
    """

    __tablename__ = "ingress_message"

    event_id: str = Field(primary_key=True, max_length=64, description="The event's id.")
    status: str = Field(max_length=16, description="'pending', 'delivered' or 'dead'.")
    topic: str = Field(max_length=255)
    owner: str = Field(max_length=64, description="MQTT client id of the instance taking it.")
    claimed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    attempts: int = 1
    settled_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    workflow_id: str | None = Field(default=None, max_length=255)
    dead_letter_id: int | None = None


class IngressDeadLetter(SQLModel, table=True):
    """A message the ingress refused: why (the reason and the field), when, and a digest.

    The payload may hold personal data (a health reading): it is kept here for a replay once
    the cause is fixed, never logged; an oversize payload is not kept at all (digest only).
    """

    __tablename__ = "ingress_dead_letter"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=64, index=True)
    topic: str = Field(max_length=255)
    event_type: str | None = Field(default=None, max_length=128)
    district: str | None = Field(default=None, max_length=64)
    reason: str = Field(max_length=64, description="A refusal code, e.g. 'not_json'.")
    field: str | None = Field(default=None, max_length=128, description="The field at fault.")
    message: str | None = Field(default=None, max_length=500)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    payload_sha256: str = Field(max_length=64)
    payload_size: int
    payload: bytes | None = Field(default=None, sa_type=LargeBinary)
    attempts: int = 1
    replayed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    replayed_to: str | None = Field(
        default=None, max_length=255, description="The workflow a replay delivered it to."
    )
