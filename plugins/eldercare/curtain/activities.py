"""Activities of the curtain appointment: registry reads, bulk volunteer notices, away notices.

Listing and notifying work a batch at a time, so a district watching thousands of elders costs
a handful of activities per round, not thousands.
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy import Engine, and_, exists, func
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from careflow.db import crud
from careflow.db.engine import session_scope
from careflow.db.tables import Notification, Pairing, Person
from careflow.db.types import utcnow
from careflow.notify import NotificationAdapter
from careflow.privacy.pseudonyms import Pseudonyms
from plugins.eldercare.curtain.models import (
    AwayFileInput,
    AwayQuery,
    CurtainActivity,
    ElderContacts,
    VolunteerNoticeInput,
    WatchEntry,
    WatchPage,
    WatchPageInput,
    check_case_ref,
)
from plugins.eldercare.curtain.tables import CurtainAwayNotice
from plugins.eldercare.family import family_refs

__all__ = ["CurtainActivities"]

_log = structlog.get_logger("careflow.eldercare.curtain")


class CurtainActivities:
    """Registry reads and writes of the curtain appointment.

    Args:
        engine: Engine of the app database.
        notifications: Delivery channel of the outbox rows written in bulk.
        pseudonyms: Keys each listed check's case (the batch starts escalations under it).
    """

    def __init__(
        self, engine: Engine, notifications: NotificationAdapter, *, pseudonyms: Pseudonyms
    ) -> None:
        """Keep the dependencies."""
        self._engine = engine
        self._notifications = notifications
        self._pseudonyms = pseudonyms

    @activity.defn(name=CurtainActivity.LIST_WATCHED)
    def list_watched(self, input: WatchPageInput) -> WatchPage:
        """One page of a district's watched elders (active curtain pairings), by elder id.

        Elders with an away notice covering ``day`` are counted and left out. Each entry
        carries the case key of its check (``<elder>.<day>``), which the workflow cannot make.
        """
        away = exists().where(
            and_(
                col(CurtainAwayNotice.elder_id) == col(Person.id),
                col(CurtainAwayNotice.away_from) <= input.day,
                col(CurtainAwayNotice.away_until) >= input.day,
            )
        )
        statement = (
            select(Person.id, func.min(Pairing.volunteer_id), Person.community_code, away)
            .join(Pairing, col(Pairing.elder_id) == col(Person.id))
            .where(Pairing.kind == "curtain", col(Pairing.active).is_(True))
            .where(col(Person.community_code).startswith(f"{input.district}."))
            .group_by(col(Person.id), col(Person.community_code))
            .order_by(col(Person.id))
            .limit(input.limit)
        )
        if input.after is not None:
            statement = statement.where(col(Person.id) > input.after)
        with Session(self._engine) as session:
            rows = session.exec(statement).all()
        entries = [
            WatchEntry(
                elder_ref=elder,
                volunteer_ref=volunteer,
                community=community,
                case_key=self._pseudonyms.case_key(check_case_ref(elder, input.day)),
            )
            for elder, volunteer, community, is_away in rows
            if not is_away
        ]
        _log.info(
            "curtain.page_listed",
            district=input.district,
            rows=len(rows),
            suppressed=len(rows) - len(entries),
        )
        return WatchPage(
            entries=entries,
            suppressed=len(rows) - len(entries),
            last=rows[-1][0] if rows else None,
            done=len(rows) < input.limit,
        )

    @activity.defn(name=CurtainActivity.NOTIFY_VOLUNTEERS)
    def notify_volunteers(self, input: VolunteerNoticeInput) -> int:
        """One outbox row per check for its paired volunteer, written in one transaction.

        Idempotent on (batch workflow id, ``check.<elder>``): a retry sends only what was not
        marked sent.

        Returns:
            How many notifications were handed to the adapter.
        """
        rows: list[Notification] = []
        with session_scope(self._engine) as session:
            for entry in input.entries:
                row, _ = crud.insert_notification(
                    session,
                    workflow_id=input.workflow_id,
                    step_key=f"check.{entry.elder_ref}",
                    district=input.district,
                    community=entry.community,
                    recipient_ref=entry.volunteer_ref,
                    template="curtain_check_due",
                    body_zh="窗帘之约：请查看您结对老人今早是否已拉开窗帘，并在截止时间前反馈。",
                    params={
                        "elder_ref": entry.elder_ref,
                        "due_by": input.due_by.isoformat(),
                        # What the volunteer's report carries to reach the check.
                        "case_ref": check_case_ref(entry.elder_ref, input.day),
                        "batch_ref": input.batch_ref,
                    },
                )
                rows.append(row)
            session.flush()
            pending = [r for r in rows if r.status != "sent"]
            for row in pending:
                session.expunge(row)
        for row in pending:
            self._notifications.send(row)
        with session_scope(self._engine) as session:
            for row in pending:
                assert row.id is not None
                crud.mark_notification_sent(
                    session,
                    notification_id=row.id,
                    adapter=self._notifications.name,
                    sent_at=utcnow(),
                )
        return len(pending)

    @activity.defn(name=CurtainActivity.IS_AWAY)
    def is_away(self, input: AwayQuery) -> bool:
        """Whether an away notice covers the elder on ``day`` (filed after the round began)."""
        with Session(self._engine) as session:
            found = session.exec(
                select(CurtainAwayNotice.id).where(
                    CurtainAwayNotice.elder_id == input.elder_ref,
                    col(CurtainAwayNotice.away_from) <= input.day,
                    col(CurtainAwayNotice.away_until) >= input.day,
                )
            ).first()
        return found is not None

    @activity.defn(name=CurtainActivity.ELDER_CONTACTS)
    def elder_contacts(self, elder_ref: str) -> ElderContacts:
        """Family refs and disability level of an elder, for an emergency.

        Raises:
            ApplicationError: ``UnknownElder`` (non-retryable).
        """
        with Session(self._engine) as session:
            person = session.get(Person, elder_ref)
            if person is None:
                raise ApplicationError(
                    f"unknown elder {elder_ref!r}", type="UnknownElder", non_retryable=True
                )
            return ElderContacts(
                disability_level=person.disability_level,
                community=person.community_code,
                family_refs=family_refs(session, elder_ref),
            )

    @activity.defn(name=CurtainActivity.FILE_AWAY)
    def file_away(self, input: AwayFileInput) -> int:
        """Store an away notice once per (workflow id, step key).

        Raises:
            ApplicationError: ``UnknownElder`` (non-retryable) for an id that is no elder of
                the district.
        """
        notice = input.notice
        with session_scope(self._engine) as session:
            existing = session.exec(
                select(CurtainAwayNotice).where(
                    CurtainAwayNotice.workflow_id == input.workflow_id,
                    CurtainAwayNotice.step_key == input.step_key,
                )
            ).first()
            if existing is not None and existing.id is not None:
                return existing.id
            person = session.get(Person, notice.elder_ref)
            if person is None or not person.community_code.startswith(f"{input.district}."):
                raise ApplicationError(
                    f"no elder {notice.elder_ref!r} in {input.district!r}",
                    type="UnknownElder",
                    non_retryable=True,
                )
            row = CurtainAwayNotice(
                elder_id=notice.elder_ref,
                district=input.district,
                away_from=notice.away_from,
                away_until=notice.away_until,
                filed_by=notice.filed_by,
                workflow_id=input.workflow_id,
                step_key=input.step_key,
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            notice_id = row.id
        _log.info(
            "curtain.away_filed",
            notice_id=notice_id,
            workflow_id=input.workflow_id,  # log lines stay readable: never the elder's id
            days=(notice.away_until - notice.away_from + timedelta(days=1)).days,
        )
        return notice_id
