"""Activities of the retention run: the ledger, Temporal's word on each case, the audit rows.

Closed must be certain. A case is retained only when (1) Temporal's visibility, asked through
the worker's own client (the namespace the run itself runs in), says its workflow is closed,
or no longer knows it, and the ledger's close time is past the purpose's period, and (2) the
app database agrees: no open task row, and nothing written after that close. A running
workflow is never touched, whatever the ledger says.

Each case is one transaction: its rows, its ledger row and its files change together or not
at all (files are deleted last, after the database accepted every change). A retried batch
finds the cases it retained in the ledger under its own (run, step) and counts them from
there, so nothing is deleted or counted twice. Log lines carry counts and codes only.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, cast

import structlog
from sqlalchemy import insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session, col
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from careflow.access.audit import Attempt, record
from careflow.access.principal import Channel
from careflow.db.engine import session_scope
from careflow.db.tables import AuditEntry, Person
from careflow.db.types import utcnow
from careflow.privacy.consent import withdrawn_subjects
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from plugins.privacy.catalogue import LEDGER, TOKEN_PREFIX, Catalogue
from plugins.privacy.models import (
    ActivityNames,
    Closure,
    ConsentInput,
    DiscoverInput,
    DiscoverResult,
    NamespaceCheck,
    NamespaceInput,
    ReportInput,
    SweepInput,
    SweepResult,
    Tally,
)
from plugins.privacy.namespace import check_namespace, days
from plugins.privacy.purposes import CONSENT_PURPOSES
from plugins.privacy.tables import RetentionCase

__all__ = ["STRAGGLER", "RetentionActivities", "closure_of"]

_log = structlog.get_logger("careflow.privacy.retention")

#: An activity may still write a little after its workflow closed (its result is dropped):
#: writes within this of the close do not make the close uncertain; later ones do.
STRAGGLER = timedelta(hours=1)
_DESCRIBE_CONCURRENCY = 16
#: Audit rows of the retention process are written by the worker, not through a channel.
SYSTEM_CHANNEL = cast(Channel, "system")


@contextmanager
def _database_errors() -> Iterator[None]:
    """A database failure as a retryable error saying only the driver's first line.

    SQLAlchemy's own message lists the statement's parameters (a case's workflow id, a
    registry id), which would reach the worker's log and the history. Refusals (``DataError``,
    ``IntegrityError``) pass on to the worker's interceptor, which makes them final.
    """
    try:
        yield
    except (DataError, IntegrityError):
        raise
    except SQLAlchemyError as err:
        orig = getattr(err, "orig", None) or err
        first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
        raise ApplicationError(
            f"数据库暂不可用 database error ({type(err).__name__}): {first[:200]}",
            type="DatabaseUnavailable",
        ) from None


async def closure_of(client: Client, workflow_id: str) -> Closure:
    """Whether Temporal has the workflow running, closed (and when), or no longer knows it."""
    try:
        described = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return Closure(state="not_found", status="not_found")
        raise
    status = described.status
    if status in (None, WorkflowExecutionStatus.RUNNING) or described.close_time is None:
        return Closure(state="running", status="running")
    # CONTINUED_AS_NEW is never the latest run's status, so anything else has ended.
    return Closure(state="closed", status=status.name.lower(), closed_at=described.close_time)


@dataclass(frozen=True, slots=True)
class _Case:
    id: int | None  # None: not in the ledger yet (a dry run's unlisted case)
    workflow_id: str
    purpose: str
    closed_at: datetime | None
    closed_how: str | None


Verdict = Literal["open", "waiting", "retained", "skipped"]


@dataclass(frozen=True, slots=True)
class _Outcome:
    verdict: Verdict
    purpose: str
    counts: dict[str, int] | None = None


def _insert_new(session: Session, rows: list[dict[str, object]]) -> None:
    """Insert ledger rows, skipping workflow ids another run entered meanwhile."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    statement: Insert
    if dialect == "sqlite":
        statement = sqlite.insert(LEDGER).on_conflict_do_nothing(index_elements=["workflow_id"])
    elif dialect == "postgresql":
        statement = postgresql.insert(LEDGER).on_conflict_do_nothing(index_elements=["workflow_id"])
    else:  # pragma: no cover - careflow runs on SQLite and PostgreSQL
        statement = insert(LEDGER)
    session.execute(statement, rows)


class RetentionActivities:
    """The retention activities, built with the worker's database, settings and registry."""

    def __init__(self, engine: Engine, *, settings: Settings, registry: PluginRegistry) -> None:
        """Bind the activities to the app database and the data directory of ``settings``."""
        self._engine = engine
        self._registry = registry
        self._catalogue = Catalogue(engine, data_dir=settings.data_dir)

    # -- the namespace

    @activity.defn(name=ActivityNames.CHECK_NAMESPACE)
    async def check_namespace(self, input: NamespaceInput) -> NamespaceCheck:
        """The namespace's history retention against the shortest app retention."""
        checked = await check_namespace(activity.client(), self._registry)
        if not checked.ok:
            _log.warning("retention.namespace_too_long", district=input.district)
        return checked

    # -- the ledger

    @activity.defn(name=ActivityNames.DISCOVER)
    async def discover(self, input: DiscoverInput) -> DiscoverResult:
        """Enter up to ``limit`` of the district's cases that the ledger does not list yet."""
        with _database_errors():
            return await asyncio.to_thread(self._discover, input)

    def _discover(self, input: DiscoverInput) -> DiscoverResult:
        self._catalogue.load()  # before the transaction (see Catalogue.load)
        added = 0
        with session_scope(self._engine) as session:
            for source in self._catalogue.sources():
                room = input.limit - added
                if room <= 0:
                    break
                query = self._catalogue.unlisted(input.district, input.purposes, source)
                found = session.execute(query.limit(room)).all()
                rows: list[dict[str, object]] = [
                    {
                        "workflow_id": wf,
                        "district": input.district,
                        "purpose": purpose,
                        "discovered_at": utcnow(),
                        "counts": {},
                    }
                    for wf, purpose in found
                ]
                _insert_new(session, rows)
                added += len(found)
        _log.info("retention.discovered", district=input.district, added=added)
        return DiscoverResult(added=added, done=added < input.limit)

    # -- one batch

    @activity.defn(name=ActivityNames.SWEEP)
    async def sweep(self, input: SweepInput) -> SweepResult:
        """Check a batch of cases with Temporal and retain those closed past their period."""
        with _database_errors():
            return await self._sweep(input)

    async def _sweep(self, input: SweepInput) -> SweepResult:
        client = activity.client()
        await asyncio.to_thread(self._catalogue.load)  # before any transaction (see load)
        if input.phase == "ledger":
            cases, result = await asyncio.to_thread(self._ledger_batch, input)
        else:
            cases, result = await asyncio.to_thread(self._unlisted_batch, input)
        limit = asyncio.Semaphore(_DESCRIBE_CONCURRENCY)

        async def closure(case: _Case) -> Closure:
            async with limit:
                return await closure_of(client, case.workflow_id)

        closures = await asyncio.gather(*(closure(case) for case in cases))
        outcomes = []
        for case, found in zip(cases, closures, strict=True):
            outcomes.append(await asyncio.to_thread(self._settle, input, case, found))
            activity.heartbeat()
        result.checked = len(cases)
        result.still_open = sum(o.verdict == "open" for o in outcomes)
        result.waiting = sum(o.verdict == "waiting" for o in outcomes)
        if input.dry_run:
            result.tallies = _tally(o for o in outcomes if o.verdict == "retained")
        else:
            result.tallies = await asyncio.to_thread(self._tallied, input.run_id, input.step_key)
        _log.info(
            "retention.batch",
            district=input.district,
            step=input.step_key,
            dry_run=input.dry_run,
            checked=result.checked,
            still_open=result.still_open,
            waiting=result.waiting,
            retained=sum(t.cases for t in result.tallies.values()),
        )
        return result

    def _ledger_batch(self, input: SweepInput) -> tuple[list[_Case], SweepResult]:
        """Ledger cases after the cursor that are not retained: open, or closed past the period.

        Closed cases still within their period are not asked about: their close is written
        down, and they are checked again once they are due.
        """
        due = [
            (col(RetentionCase.purpose) == purpose)
            & (col(RetentionCase.closed_at).is_(None) | (col(RetentionCase.closed_at) <= cutoff))
            for purpose, cutoff in sorted(input.cutoffs.items())
        ]
        query = (
            select(RetentionCase)
            .where(
                col(RetentionCase.district) == input.district,
                col(RetentionCase.retained_at).is_(None),
                col(RetentionCase.workflow_id).is_not(None),
                col(RetentionCase.id) > input.cursor,
                or_(*due),
            )
            .order_by(col(RetentionCase.id))
            .limit(input.limit)
        )
        with Session(self._engine) as session:
            rows = session.execute(query).scalars().all()
        cases = [
            _Case(r.id, r.workflow_id, r.purpose, r.closed_at, r.closed_how)
            for r in rows
            if r.workflow_id is not None
        ]
        cursor = max((r.id or 0 for r in rows), default=input.cursor)
        done = len(rows) < input.limit
        return cases, SweepResult(phase="ledger", cursor=cursor, done=done)

    def _unlisted_batch(self, input: SweepInput) -> tuple[list[_Case], SweepResult]:
        """A dry run's cases that a real run would enter into the ledger first.

        Goes through the sources in order, from (``source``, ``offset``), until the batch is
        full or every source is read.
        """
        sources = self._catalogue.sources()
        cases: list[_Case] = []
        source, offset = input.source, input.offset
        with Session(self._engine) as session:
            while source < len(sources) and len(cases) < input.limit:
                room = input.limit - len(cases)
                query = self._catalogue.unlisted(
                    input.district, sorted(input.cutoffs), sources[source]
                )
                found = session.execute(query.offset(offset).limit(room)).all()
                cases += [_Case(None, wf, purpose, None, None) for wf, purpose in found]
                if len(found) < room:
                    source, offset = source + 1, 0
                else:
                    offset += len(found)
        done = source >= len(sources)
        return cases, SweepResult(phase="unlisted", source=source, offset=offset, done=done)

    def _settle(self, input: SweepInput, case: _Case, closure: Closure) -> _Outcome:
        """Decide one case and, unless this is a dry run, act on it in one transaction."""
        if input.dry_run:
            with Session(self._engine) as session:
                try:
                    return self._decide(session, input, case, closure, write=False)
                finally:
                    session.rollback()
        with session_scope(self._engine) as session:
            row = session.get(RetentionCase, case.id, with_for_update=True)
            if row is None or row.retained_at is not None or row.workflow_id is None:
                return _Outcome("skipped", case.purpose)  # another run got there first
            current = _Case(row.id, row.workflow_id, row.purpose, row.closed_at, row.closed_how)
            return self._decide(session, input, current, closure, write=True, row=row)

    def _verdict(
        self,
        session: Session,
        case: _Case,
        closure: Closure,
        *,
        as_of: datetime,
        cutoff: datetime | None,
    ) -> tuple[Verdict, datetime | None, str | None]:
        """Whether a case is certainly closed (and past ``cutoff``, if one), with its close.

        Returns:
            The verdict and the close the ledger should hold from now (None: open).
        """
        closed_at, closed_how = case.closed_at, case.closed_how
        if closure.state == "running":
            closed_at, closed_how = None, None
        elif closure.state == "closed":
            closed_at, closed_how = closure.closed_at, closure.status
        elif closed_at is None:
            # Gone from Temporal before the ledger saw it close: it closed before now.
            closed_at, closed_how = as_of, "not_found"
        if closed_at is None:
            return "open", None, None
        if cutoff is not None and closed_at > cutoff:
            return "waiting", closed_at, closed_how
        if self._catalogue.open_tasks(session, case.workflow_id):
            return "open", closed_at, closed_how  # the task sweep has not closed them: next run
        written = self._catalogue.last_written(session, case.workflow_id)
        if written is not None and written > closed_at + STRAGGLER:
            # Written after the close the ledger has: a later run of the same id. Its close
            # is not known, so it is watched again from now.
            return "open", None, None
        return "retained", closed_at, closed_how

    def _decide(
        self,
        session: Session,
        input: SweepInput,
        case: _Case,
        closure: Closure,
        *,
        write: bool,
        row: RetentionCase | None = None,
    ) -> _Outcome:
        verdict, closed_at, closed_how = self._verdict(
            session, case, closure, as_of=input.as_of, cutoff=input.cutoffs[case.purpose]
        )
        if row is not None and write:
            row.closed_at, row.closed_how, row.checked_at = closed_at, closed_how, input.as_of
            session.add(row)
        if verdict != "retained":
            return _Outcome(verdict, case.purpose)
        token = _token()
        counts = self._catalogue.retain(
            session,
            workflow_id=case.workflow_id,
            purpose=case.purpose,
            token=token,
            dry_run=not write,
        )
        if row is not None and write:
            _retained(row, run_id=input.run_id, step_key=input.step_key, as_of=input.as_of)
            row.workflow_id = None
            row.retained_reason, row.token, row.counts = "period", token, counts
            session.add(row)
        return _Outcome("retained", case.purpose, counts)

    # -- withdrawn consent

    @activity.defn(name=ActivityNames.CONSENT)
    async def consent(self, input: ConsentInput) -> SweepResult:
        """Remove, from closed cases, the data of people whose consent was withdrawn.

        A case that is all one person's (an application, a monitor) is retained whole at
        once, whatever its period; in a case of many (a campaign) only that person's rows
        are anonymised. Open cases are left to the process itself, which ends its work for
        the person when it hears of the withdrawal.
        """
        with _database_errors():
            return await self._consent(input)

    async def _consent(self, input: ConsentInput) -> SweepResult:
        client = activity.client()
        await asyncio.to_thread(self._catalogue.load)  # before any transaction (see load)
        pairs, done = await asyncio.to_thread(self._withdrawn_batch, input)
        limit = asyncio.Semaphore(_DESCRIBE_CONCURRENCY)

        async def closure(case: _Case) -> Closure:
            async with limit:
                return await closure_of(client, case.workflow_id)

        closures = await asyncio.gather(*(closure(case) for case, _ in pairs))
        outcomes = []
        for (case, subject), found in zip(pairs, closures, strict=True):
            outcomes.append(await asyncio.to_thread(self._withdraw, input, case, subject, found))
            activity.heartbeat()
        left = sum(o.verdict != "retained" for o in outcomes)
        result = SweepResult(
            checked=len(pairs),
            still_open=sum(o.verdict == "open" for o in outcomes),
            offset=input.offset + (len(pairs) if input.dry_run else left),
            done=done,
        )
        if input.dry_run:
            result.tallies = _tally(o for o in outcomes if o.verdict == "retained")
        else:
            result.tallies = await asyncio.to_thread(self._tallied, input.run_id, input.step_key)
        _log.info(
            "retention.consent_batch",
            district=input.district,
            step=input.step_key,
            dry_run=input.dry_run,
            checked=result.checked,
            still_open=result.still_open,
            removed=sum(t.cases for t in result.tallies.values()),
        )
        return result

    def _withdrawn_batch(self, input: ConsentInput) -> tuple[list[tuple[_Case, str]], bool]:
        """(case, person) pairs: the district's people whose consent for a purpose was
        withdrawn, and the cases of that purpose holding their data, in a stable order."""
        pairs: set[tuple[str, str, str]] = set()
        with Session(self._engine) as session:
            for code, purposes in CONSENT_PURPOSES.items():
                wanted = [p for p in purposes if p in input.purposes]
                if not wanted:
                    continue
                subjects = withdrawn_subjects(session, purpose=code, before=input.as_of)
                if not subjects:
                    continue
                local = session.execute(
                    select(col(Person.id)).where(
                        col(Person.id).in_(subjects),
                        col(Person.community_code).startswith(f"{input.district}."),
                    )
                ).scalars()
                for subject in local:
                    for purpose in wanted:
                        cases = self._catalogue.cases_about(
                            session, district=input.district, purpose=purpose, subject=subject
                        )
                        pairs |= {(subject, purpose, wf) for wf in cases}
            ordered = sorted(pairs)
            batch = ordered[input.offset : input.offset + input.limit]
            found: list[tuple[_Case, str]] = []
            for subject, purpose, wf in batch:
                row = session.execute(
                    select(RetentionCase).where(col(RetentionCase.workflow_id) == wf)
                ).scalar_one_or_none()
                if row is None:
                    found.append((_Case(None, wf, purpose, None, None), subject))
                else:
                    found.append(
                        (_Case(row.id, wf, purpose, row.closed_at, row.closed_how), subject)
                    )
        return found, len(batch) < input.limit

    def _withdraw(
        self, input: ConsentInput, case: _Case, subject: str, closure: Closure
    ) -> _Outcome:
        """One (case, person) pair, in one transaction (none in a dry run)."""
        if input.dry_run:
            with Session(self._engine) as session:
                try:
                    return self._forget(session, input, case, subject, closure, write=False)
                finally:
                    session.rollback()
        with session_scope(self._engine) as session:
            row = session.execute(
                select(RetentionCase)
                .where(col(RetentionCase.workflow_id) == case.workflow_id)
                .with_for_update()
            ).scalar_one_or_none()
            if row is not None:
                case = _Case(row.id, case.workflow_id, case.purpose, row.closed_at, row.closed_how)
            return self._forget(session, input, case, subject, closure, write=True, row=row)

    def _forget(
        self,
        session: Session,
        input: ConsentInput,
        case: _Case,
        subject: str,
        closure: Closure,
        *,
        write: bool,
        row: RetentionCase | None = None,
    ) -> _Outcome:
        verdict, closed_at, closed_how = self._verdict(
            session, case, closure, as_of=input.as_of, cutoff=None
        )
        if row is not None and write:
            row.closed_at, row.closed_how, row.checked_at = closed_at, closed_how, input.as_of
            session.add(row)
        if verdict != "retained":
            return _Outcome(verdict, case.purpose)
        token = _token()
        whole = self._catalogue.owned_by(
            session, workflow_id=case.workflow_id, purpose=case.purpose, subject=subject
        )
        if whole:
            counts = self._catalogue.retain(
                session,
                workflow_id=case.workflow_id,
                purpose=case.purpose,
                token=token,
                dry_run=not write,
            )
        else:
            counts = self._catalogue.forget(
                session,
                workflow_id=case.workflow_id,
                purpose=case.purpose,
                subject=subject,
                token=token,
                dry_run=not write,
            )
        if not counts:
            return _Outcome("skipped", case.purpose)  # nothing of theirs after all
        if write:
            # A case retained whole closes its ledger row; a person's part of a case gets a
            # row of its own (no workflow id), so a retry of this step counts it once.
            entry = row if whole and row is not None else None
            if entry is None:
                entry = RetentionCase(
                    district=input.district,
                    purpose=case.purpose,
                    discovered_at=input.as_of,
                    closed_at=closed_at,
                    closed_how=closed_how,
                )
            if whole:
                entry.workflow_id = None
            _retained(entry, run_id=input.run_id, step_key=input.step_key, as_of=input.as_of)
            entry.retained_reason, entry.token, entry.counts = "consent", token, counts
            session.add(entry)
        return _Outcome("retained", case.purpose, counts)

    def _tallied(self, run_id: str, step_key: str) -> dict[str, Tally]:
        """What this (run, step) retained, from the ledger: a retry counts each case once."""
        with Session(self._engine) as session:
            rows = session.execute(
                select(col(RetentionCase.purpose), col(RetentionCase.counts)).where(
                    col(RetentionCase.retained_by) == run_id,
                    col(RetentionCase.retained_step) == step_key,
                )
            ).all()
        return _tally(_Outcome("retained", purpose, counts) for purpose, counts in rows)

    # -- what the run did

    @activity.defn(name=ActivityNames.REPORT)
    def report(self, input: ReportInput) -> int:
        """One audit row for the run and one per purpose that had cases; idempotent.

        The rows carry counts and codes only. Returns how many rows this call wrote.
        """
        with _database_errors():
            return self._report(input)

    def _report(self, input: ReportInput) -> int:
        attempt = Attempt(
            principal=None,
            channel=SYSTEM_CHANNEL,
            request_id=input.request_id,
            claimed=input.actor,
        )
        with Session(self._engine) as session:
            written = set(
                session.execute(
                    select(col(AuditEntry.target)).where(
                        col(AuditEntry.request_id) == input.request_id,
                        col(AuditEntry.action) == "retention.run",
                    )
                )
                .scalars()
                .all()
            )
        mode = "演练 dry run" if input.dry_run else "已执行 done"
        rows = [
            (
                "retention",
                "run_failed" if input.problem else _namespace_reason(input.namespace),
                f"{mode}: checked={input.checked} still_open={input.still_open} "
                f"waiting={input.waiting} retained="
                f"{sum(p.cases for p in input.purposes.values())}"
                + (f" · {input.problem}" if input.problem else "")
                + (f" · {input.namespace.message}" if input.namespace else ""),
            )
        ]
        for purpose, done in input.purposes.items():
            if not done.cases:
                continue
            counts = " ".join(f"{k}={v}" for k, v in done.rows.items())
            rows.append(
                (
                    f"retention:{purpose}",
                    "dry_run" if input.dry_run else "period",
                    f"{mode}: cases={done.cases} {counts} · 保留期限 period {days(done.period)}",
                )
            )
        for purpose, removed in input.consent.items():
            if not removed.cases:
                continue
            counts = " ".join(f"{k}={v}" for k, v in removed.rows.items())
            rows.append(
                (
                    f"retention:{purpose}:consent",
                    "dry_run" if input.dry_run else "consent_withdrawn",
                    f"{mode}: 撤回同意 withdrawn consent · cases={removed.cases} {counts}",
                )
            )
        count = 0
        for target, reason, message in rows:
            if target in written:
                continue
            record(
                self._engine,
                attempt,
                action="retention.run",
                outcome=input.outcome,
                target=target,
                district=input.district,
                reason=reason,
                message=message,
            )
            count += 1
        return count


def _token() -> str:
    """A fresh random token: nothing about the case or person can be read back from it."""
    return f"{TOKEN_PREFIX}{secrets.token_hex(6)}"


def _retained(row: RetentionCase, *, run_id: str, step_key: str, as_of: datetime) -> None:
    row.retained_at, row.retained_by, row.retained_step = as_of, run_id, step_key


def _namespace_reason(check: NamespaceCheck | None) -> str | None:
    return None if check is None or check.ok else "namespace_retention_too_long"


def _tally(outcomes: Iterable[_Outcome]) -> dict[str, Tally]:
    found: dict[str, Tally] = defaultdict(Tally)
    for outcome in outcomes:
        found[outcome.purpose].add(Tally(cases=1, rows=dict(outcome.counts or {})))
    return dict(sorted(found.items()))
