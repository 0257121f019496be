"""Activities of the curtain appointment: registry reads, bulk volunteer notices, away notices.

Listing and notifying work a batch at a time, so a district watching thousands of elders costs
a handful of activities per round, not thousands.
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy import Engine, and_, exists, func, update
from sqlalchemy.exc import IntegrityError
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

_CHECK_TEMPLATE = "curtain_check_due"
_CHECK_BODY = "窗帘之约：请查看您结对老人今早是否已拉开窗帘，并在截止时间前反馈。"
#: Ids per ``IN (...)`` of one statement (well under SQLite's and PostgreSQL's bind limits).
_CHUNK = 500


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
        marked sent. The rows are read, inserted and marked sent a batch at a time (a batch
        holds 500 checks; a read, a savepoint and an insert per row cost most of a round).

        Returns:
            How many notifications were handed to the adapter.
        """
        with session_scope(self._engine) as session:
            rows = self._outbox_rows(session, input)
            pending = [r for r in rows if r.status != "sent"]
            for row in pending:
                session.expunge(row)
        sent: list[int] = []
        try:
            for row in pending:
                self._notifications.send(row)
                assert row.id is not None
                sent.append(row.id)
        finally:
            # What went out stays marked even if a later one fails: the retry skips it.
            self._mark_sent(sent)
        return len(pending)

    def _outbox_rows(self, session: Session, input: VolunteerNoticeInput) -> list[Notification]:
        """The batch's outbox rows in entry order: those there already, the rest inserted."""
        keyed = {f"check.{entry.elder_ref}": entry for entry in input.entries}
        there = {
            row.step_key: row
            for row in session.exec(
                select(Notification).where(Notification.workflow_id == input.workflow_id)
            )
            if row.step_key in keyed
        }
        now = utcnow()
        fresh = [
            Notification(
                workflow_id=input.workflow_id,
                step_key=key,
                district=input.district,
                community=entry.community,
                recipient_ref=entry.volunteer_ref,
                template=_CHECK_TEMPLATE,
                body_zh=_CHECK_BODY,
                params={
                    "elder_ref": entry.elder_ref,
                    "due_by": input.due_by.isoformat(),
                    # What the volunteer's report carries to reach the check.
                    "case_ref": check_case_ref(entry.elder_ref, input.day),
                    "batch_ref": input.batch_ref,
                },
                status="pending",
                created_at=now,
            )
            for key, entry in keyed.items()
            if key not in there
        ]
        try:
            with session.begin_nested():
                session.add_all(fresh)
        except IntegrityError:
            # Another attempt inserted some of them meanwhile: settle each key on its own.
            fresh = [self._insert_one(session, row) for row in fresh]
        session.flush()
        by_key = there | {row.step_key: row for row in fresh}
        return [by_key[key] for key in keyed]

    @staticmethod
    def _insert_one(session: Session, row: Notification) -> Notification:
        inserted, _ = crud.insert_notification(
            session,
            workflow_id=row.workflow_id,
            step_key=row.step_key,
            district=row.district,
            community=row.community,
            recipient_ref=row.recipient_ref,
            template=row.template,
            body_zh=row.body_zh,
            params=row.params,
            created_at=row.created_at,
        )
        return inserted

    def _mark_sent(self, ids: list[int]) -> None:
        """Mark the outbox rows ``ids`` sent by this adapter, a chunk per statement."""
        if not ids:
            return
        now = utcnow()
        with session_scope(self._engine) as session:
            for start in range(0, len(ids), _CHUNK):
                session.exec(
                    update(Notification)
                    .where(
                        col(Notification.id).in_(ids[start : start + _CHUNK]),
                        col(Notification.status) != "sent",
                    )
                    .values(status="sent", adapter=self._notifications.name, sent_at=now)
                )

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
