"""The ingress's two tables: messages taken (by event id) and dead letters.

The order that makes a message count once, whatever is killed when:

1. **claim** the event id (insert a ``pending`` row; the primary key refuses a second one);
2. **deliver** the event to Temporal (signal or signal-with-start);
3. **settle** the row (``delivered``, or ``dead`` with its dead letter, in one transaction);
4. **acknowledge** the message to the broker.

A crash before 1 or between 3 and 4 is harmless: the broker redelivers, the row answers
"already done", the message is acknowledged. A crash between 1 and 3 leaves a ``pending`` row:
the redelivered message is *recovered*: the ingress first looks in the receiving workflow's
history for a signal carrying the event id (``ingress.confirm``) and delivers only if there is
none, so an event is applied once even then. Claiming before delivering (not after) is what
lets a second instance, or the same message arriving twice, see that someone is on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from careflow.db.engine import session_scope
from careflow.db.tables import IngressDeadLetter, IngressMessage
from careflow.db.types import utcnow
from ingress.messages import Incoming, digest

__all__ = [
    "DEDUP_WINDOW",
    "LEASE",
    "Claim",
    "Claimed",
    "DeadLetterInfo",
    "claim",
    "dead_letter",
    "list_dead_letters",
    "mark_replayed",
    "purge_settled",
    "settle_dead",
    "settle_delivered",
]

LEASE = timedelta(minutes=2)
"""How long a ``pending`` row belongs to the instance that claimed it. Past that, another
instance takes the message over (the first one died, or lost its broker connection)."""
DEDUP_WINDOW = timedelta(days=30)
"""How long settled rows are kept: a duplicate older than this is taken as new."""


class Claim(Enum):
    """What claiming an event id found."""

    NEW = "new"
    """No row: this instance now holds it; deliver."""
    RECOVER = "recover"
    """A ``pending`` row of a previous attempt (this instance before a restart, or one whose
    lease ran out): its delivery may have landed; confirm before delivering again."""
    BUSY = "busy"
    """Another instance holds a fresh lease on it: wait for it to settle."""
    DONE = "done"
    """Delivered or dead already: a duplicate; acknowledge and change nothing."""


@dataclass(frozen=True, slots=True)
class Claimed:
    """The claim and the row as it stands."""

    claim: Claim
    status: str
    attempts: int
    workflow_id: str | None = None


def _take(session: Session, row: IngressMessage, *, owner: str, now: datetime) -> Claimed:
    if row.status != "pending":
        return Claimed(Claim.DONE, row.status, row.attempts, row.workflow_id)
    if row.owner != owner and now - row.claimed_at < LEASE:
        return Claimed(Claim.BUSY, row.status, row.attempts)
    row.owner, row.claimed_at, row.attempts = owner, now, row.attempts + 1
    session.add(row)
    return Claimed(Claim.RECOVER, row.status, row.attempts)


def claim(engine: Engine, incoming: Incoming, *, owner: str, held: bool = False) -> Claimed:
    """Claim ``incoming``'s event id for ``owner`` (an MQTT client id).

    Args:
        engine: The app database.
        incoming: The message.
        owner: This instance's client id.
        held: This instance already tried it (a retry after Temporal was unreachable): a
            ``pending`` row of its own is then a recovery, as after a restart.

    Raises:
        SQLAlchemyError: The database is unavailable (the caller retries later).
    """
    now = utcnow()
    try:
        with session_scope(engine) as session:
            row = session.get(IngressMessage, incoming.event_id)
            if row is not None:
                return _take(session, row, owner=owner, now=now)
            session.add(
                IngressMessage(
                    event_id=incoming.event_id,
                    status="pending",
                    topic=incoming.topic[:255],
                    owner=owner,
                    claimed_at=now,
                )
            )
            session.flush()
            return Claimed(Claim.NEW, "pending", 1)
    except IntegrityError:
        # Another instance inserted it between our read and our insert.
        with session_scope(engine) as session:
            row = session.get(IngressMessage, incoming.event_id)
            assert row is not None
            return _take(session, row, owner=owner, now=now)


def settle_delivered(engine: Engine, event_id: str, *, workflow_id: str) -> None:
    """Mark the event delivered to ``workflow_id``."""
    with session_scope(engine) as session:
        row = session.get(IngressMessage, event_id)
        if row is None:  # a replay of a dead letter whose row was purged
            return
        row.status, row.settled_at, row.workflow_id = "delivered", utcnow(), workflow_id[:255]
        session.add(row)


@dataclass(frozen=True, slots=True)
class DeadLetterInfo:
    """A dead letter without its payload: what listings and logs may show."""

    id: int
    event_id: str
    topic: str
    event_type: str | None
    district: str | None
    reason: str
    field: str | None
    message: str | None
    received_at: datetime
    payload_sha256: str
    payload_size: int
    payload_stored: bool
    attempts: int
    replayed_at: datetime | None
    replayed_to: str | None

    @classmethod
    def of(cls, row: IngressDeadLetter) -> DeadLetterInfo:
        """The listing of ``row``."""
        assert row.id is not None
        return cls(
            id=row.id,
            event_id=row.event_id,
            topic=row.topic,
            event_type=row.event_type,
            district=row.district,
            reason=row.reason,
            field=row.field,
            message=row.message,
            received_at=row.received_at,
            payload_sha256=row.payload_sha256,
            payload_size=row.payload_size,
            payload_stored=row.payload is not None,
            attempts=row.attempts,
            replayed_at=row.replayed_at,
            replayed_to=row.replayed_to,
        )


def settle_dead(
    engine: Engine,
    incoming: Incoming,
    *,
    reason: str,
    field: str | None,
    message: str | None,
    store_payload: bool = True,
) -> DeadLetterInfo:
    """Store a dead letter and mark the event ``dead``, in one transaction.

    A message already dead (claimed again after a crash) keeps its first dead letter.
    """
    with session_scope(engine) as session:
        row = session.get(IngressMessage, incoming.event_id)
        if row is not None and row.dead_letter_id is not None:
            existing = session.get(IngressDeadLetter, row.dead_letter_id)
            if existing is not None:
                return DeadLetterInfo.of(existing)
        letter = IngressDeadLetter(
            event_id=incoming.event_id,
            topic=incoming.topic[:255],
            event_type=(incoming.event_type or "")[:128] or None,
            district=(incoming.district or "")[:64] or None,
            reason=reason[:64],
            field=field[:128] if field else None,
            message=message[:500] if message else None,
            payload_sha256=digest(incoming.payload),
            payload_size=len(incoming.payload),
            payload=incoming.payload if store_payload else None,
        )
        session.add(letter)
        session.flush()
        if row is None:
            row = IngressMessage(
                event_id=incoming.event_id, status="dead", topic=incoming.topic[:255], owner="-"
            )
        row.status, row.settled_at, row.dead_letter_id = "dead", utcnow(), letter.id
        session.add(row)
        return DeadLetterInfo.of(letter)


def list_dead_letters(
    session: Session, *, include_replayed: bool = False, limit: int = 200
) -> Sequence[DeadLetterInfo]:
    """Dead letters, newest first (those replayed only with ``include_replayed``)."""
    statement = select(IngressDeadLetter)
    if not include_replayed:
        statement = statement.where(col(IngressDeadLetter.replayed_at).is_(None))
    statement = statement.order_by(col(IngressDeadLetter.id).desc()).limit(limit)
    return [DeadLetterInfo.of(row) for row in session.exec(statement).all()]


def dead_letter(session: Session, letter_id: int) -> IngressDeadLetter | None:
    """One dead letter with its payload (for a replay), or None."""
    return session.get(IngressDeadLetter, letter_id)


def mark_replayed(
    engine: Engine,
    letter_id: int,
    *,
    workflow_id: str | None,
    reason: str | None = None,
    field: str | None = None,
    message: str | None = None,
) -> None:
    """Record a replay: delivered to ``workflow_id``, or refused again with a new reason."""
    with session_scope(engine) as session:
        letter = session.get(IngressDeadLetter, letter_id)
        if letter is None:
            return
        letter.attempts += 1
        if workflow_id is not None:
            letter.replayed_at, letter.replayed_to = utcnow(), workflow_id[:255]
        else:
            letter.reason = (reason or letter.reason)[:64]
            letter.field = field[:128] if field else None
            letter.message = message[:500] if message else None
        session.add(letter)
        if workflow_id is not None:
            row = session.get(IngressMessage, letter.event_id)
            if row is not None:
                row.status, row.workflow_id, row.settled_at = "delivered", workflow_id, utcnow()
                session.add(row)


def purge_settled(engine: Engine, *, now: datetime | None = None) -> int:
    """Delete settled rows older than :data:`DEDUP_WINDOW`; returns how many."""
    cutoff = (now or utcnow()) - DEDUP_WINDOW
    with session_scope(engine) as session:
        result = session.execute(
            delete(IngressMessage).where(
                col(IngressMessage.settled_at).is_not(None),
                col(IngressMessage.settled_at) < cutoff,
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)
