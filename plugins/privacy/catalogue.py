"""Where a case's personal data lives, and what retention does to each table of it.

The catalogue names tables and columns as strings and finds them in the app database when a
worker builds the activities: a module that is not installed has no tables, and its rules are
skipped. So the privacy plugin imports no service module (the layering rule), and a renamed
column fails the catalogue test (``tests/plugins/privacy/test_catalogue.py``) rather than a run.

**Delete** what statistics do not need and what names a person through a registry foreign key
(health readings, away notices, place applications, a closed care plan); **anonymise** what
statistics count (tasks per role and community, case records per kind, tier colours, alert
severities, wishes per category): the links to the person and the case are replaced by a
random token, free text and form answers are removed, and JSON keeps only numbers and codes
(:func:`plugins.privacy.scrub.scrub`). Report files a case wrote are deleted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    Column,
    ColumnElement,
    MetaData,
    String,
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    inspect,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select
from sqlmodel import Session, SQLModel

from plugins.privacy.purposes import PURPOSES
from plugins.privacy.scrub import scrub
from plugins.privacy.tables import RetentionCase

__all__ = [
    "LEDGER",
    "REPORT_FILES",
    "RULES",
    "SOURCES",
    "SUBJECT_LINKS",
    "Catalogue",
    "LinkedDelete",
    "ReportFiles",
    "Rule",
    "Source",
    "SubjectLink",
    "Value",
    "key_renames",
]

TOKEN_PREFIX = "anon"
"""Every token starts so: a real workflow id starts with its process id, which never does."""


class Value(Enum):
    """What an anonymised column becomes."""

    TOKEN = "token"  # the case's random token
    ROW_TOKEN = "row_token"  # the token and the row's ordinal, for unique columns
    NULL = "null"
    EMPTY = "empty"  # an empty string, for text columns that may not be NULL
    SCRUB = "scrub"  # JSON with numbers and codes only
    RECIPIENT = "recipient"  # a role (``role:…``) stays, a person becomes the token
    STEP_KEY = "step_key"  # ids in a step key (``handover.P00012``) become ``~1``, ``~2`` …


@dataclass(frozen=True, kw_only=True, slots=True)
class Source:
    """A table whose rows show that a case exists (and which purpose it serves).

    Attributes:
        table: Table name.
        workflow: Column holding the case's workflow id.
        district: Column holding the district code.
        process: Column holding the process id (its purpose is looked up), or None when every
            row of the table serves ``purpose``.
        purpose: The purpose of every row, when ``process`` is None.
    """

    table: str
    workflow: str = "workflow_id"
    district: str = "district"
    process: str | None = "process"
    purpose: str | None = None


SOURCES: tuple[Source, ...] = (
    Source(table="task"),
    Source(table="case_record"),
    Source(table="ec_health_reading", process=None, purpose="health"),
    Source(table="ec_health_alert", process=None, purpose="health"),
    Source(table="ec_curtain_away", process=None, purpose="curtain"),
    Source(table="ec_green_channel_booking", process=None, purpose="green_channel"),
    Source(table="ec_pension_submission", process=None, purpose="pension"),
    Source(table="ec_tiers_assessment", process=None, purpose="tiers"),
    Source(table="cc_places_application", process=None, purpose="places"),
    Source(table="cw_campaign", workflow="campaign_id", process=None, purpose="microwish"),
)
"""Tables a case is found in, in the order the ledger is filled."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Rule:
    """Delete or anonymise a table's rows of one case.

    Attributes:
        table: Table name.
        key: Column holding the case's workflow id.
        action: ``delete`` the rows or ``anonymise`` them with ``set``.
        set: Column → what it becomes.
        purposes: Only for cases of these purposes; empty means every purpose.
    """

    table: str
    action: Literal["delete", "anonymise"]
    key: str = "workflow_id"
    set: Mapping[str, Value] = field(default_factory=dict)
    purposes: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkedDelete:
    """Delete rows of ``table`` about the people a case's ``via`` rows name.

    E.g. the inactive care plans of the elders a closed tiers case assessed. Runs before the
    ``via`` table is anonymised.
    """

    table: str
    column: str
    via: str
    via_column: str
    via_key: str = "workflow_id"
    only_if: Mapping[str, Any] = field(default_factory=dict)
    purposes: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True, slots=True)
class ReportFiles:
    """Files a case wrote under the data directory, named after its workflow id.

    ``pattern`` is a regular expression in which ``{case}`` stands for the workflow id as the
    writer put it into the name (``/`` as ``_``).
    """

    folder: str
    pattern: str
    purposes: frozenset[str] = frozenset()

    def matches(self, workflow_id: str, name: str) -> bool:
        """Whether the file ``name`` is one of this case's."""
        safe = re.escape(workflow_id.replace("/", "_"))
        return re.fullmatch(self.pattern.replace("{case}", safe), name) is not None


T, R, N, E, S = Value.TOKEN, Value.ROW_TOKEN, Value.NULL, Value.EMPTY, Value.SCRUB
K = Value.STEP_KEY

LINKED: tuple[LinkedDelete, ...] = (
    LinkedDelete(
        table="ec_tiers_care_plan",
        column="elder_ref",
        via="ec_tiers_assessment",
        via_column="elder_ref",
        only_if={"active": False},
        purposes=frozenset({"tiers"}),
    ),
)

RULES: tuple[Rule, ...] = (
    Rule(table="ec_health_reading", action="delete", purposes=frozenset({"health"})),
    Rule(
        table="ec_health_alert",
        action="anonymise",
        set={"workflow_id": T, "step_key": K, "elder_ref": T, "advice_zh": N},
        purposes=frozenset({"health"}),
    ),
    Rule(table="ec_curtain_away", action="delete", purposes=frozenset({"curtain"})),
    Rule(
        table="ec_green_channel_booking",
        action="anonymise",
        set={"workflow_id": T, "step_key": K, "case_ref": T, "elder_ref": T, "booking_ref": R},
        purposes=frozenset({"green_channel"}),
    ),
    Rule(
        table="ec_pension_submission",
        action="anonymise",
        set={"workflow_id": T, "step_key": K, "elder_ref": T, "confirmation_ref": T},
        purposes=frozenset({"pension"}),
    ),
    Rule(
        table="ec_tiers_assessment",
        action="anonymise",
        set={"workflow_id": T, "step_key": K, "elder_ref": T, "reasons": S},
        purposes=frozenset({"tiers"}),
    ),
    Rule(table="cc_places_application", action="delete", purposes=frozenset({"places"})),
    Rule(
        table="cw_wish",
        action="anonymise",
        key="campaign_id",
        set={
            "campaign_id": T,
            "child_ref": T,
            "household_ref": N,
            "description_zh": N,
            "visited_by": N,
            "reviewed_by": N,
        },
        purposes=frozenset({"microwish"}),
    ),
    Rule(
        table="cw_pledge",
        action="anonymise",
        key="campaign_id",
        set={"campaign_id": T, "donor_ref": T, "pledge_ref": R},
        purposes=frozenset({"microwish"}),
    ),
    *(
        Rule(
            table=table,
            action="anonymise",
            key="campaign_id",
            set={"campaign_id": T},
            purposes=frozenset({"microwish"}),
        )
        for table in ("cw_pool", "cw_match")
    ),
    Rule(
        table="cw_report",
        action="anonymise",
        key="campaign_id",
        set={"campaign_id": T, "data": S},
        purposes=frozenset({"microwish"}),
    ),
    Rule(
        table="cw_campaign",
        action="anonymise",
        key="campaign_id",
        set={"campaign_id": T, "case_ref": T},
        purposes=frozenset({"microwish"}),
    ),
    # Every process writes these.
    Rule(
        table="task",
        action="anonymise",
        set={"workflow_id": T, "step_key": K, "case_ref": T, "result": N},
    ),
    Rule(
        table="case_record",
        action="anonymise",
        set={"workflow_id": T, "step_key": K, "case_ref": T, "data": S},
    ),
    Rule(
        table="notification",
        action="anonymise",
        set={
            "workflow_id": T,
            "step_key": K,
            "recipient_ref": Value.RECIPIENT,
            "body_zh": E,
            "params": S,
        },
    ),
)
"""What retention does, table by table, in this order within one transaction per case."""

REPORT_FILES: tuple[ReportFiles, ...] = (
    # The sign-off lists of a micro-wish campaign (anonymised, but still the case's).
    ReportFiles(
        folder="reports",
        pattern=r"{case}\.wishlist\.r\d+\.csv",
        purposes=frozenset({"microwish"}),
    ),
)

LEDGER: Table = SQLModel.metadata.tables[RetentionCase.__tablename__]
"""The ledger as a Core table, for queries that join it with the reflected ones."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SubjectLink:
    """A column naming the person a row is about, for withdrawn consent.

    Attributes:
        table: Table name.
        column: Column holding the person's registry id.
        key: Column holding the case's workflow id.
        owner: Every row of a case names the same person (an application, a monitor's
            readings): the case is that person's. Otherwise the case holds many people
            (a campaign's wishes) and only the person's rows are changed.
        forget: For a non-owner link, what the person's rows become.
        step_ids: For a non-owner link, step keys ``<prefix>.<row id>`` of the person's tasks
            and records (``visit.12``, ``review.12.r2``), by prefix.
        purposes: The purposes whose cases it links.
    """

    table: str
    column: str
    key: str = "workflow_id"
    owner: bool = True
    forget: Mapping[str, Value] = field(default_factory=dict)
    step_ids: tuple[str, ...] = ()
    purposes: frozenset[str] = frozenset()


SUBJECT_LINKS: tuple[SubjectLink, ...] = (
    SubjectLink(table="cc_places_application", column="child_id", purposes=frozenset({"places"})),
    SubjectLink(table="ec_health_reading", column="elder_ref", purposes=frozenset({"health"})),
    SubjectLink(table="ec_health_alert", column="elder_ref", purposes=frozenset({"health"})),
    SubjectLink(
        table="cw_wish",
        column="child_ref",
        key="campaign_id",
        owner=False,
        forget={
            "child_ref": T,
            "household_ref": N,
            "description_zh": N,
            "visited_by": N,
            "reviewed_by": N,
        },
        step_ids=("visit", "review"),
        purposes=frozenset({"microwish"}),
    ),
)
"""Where a withdrawn consent's subject shows up besides case refs, step keys and JSON."""


_PROCESS_PURPOSE = {process: p.code for p in PURPOSES for process in p.processes}


_KEY_SEGMENT = re.compile(r"^[a-z0-9_]*$")


def key_renames(step_keys: list[str]) -> dict[str, str]:
    """Step keys with the ids in them replaced, one name per id: ``handover.P00012`` →
    ``handover.~1``, ``call.P00012`` → ``call.~1``, ``handover.P00013`` → ``handover.~2``.

    Lowercase codes and numbers stay (``visit.0``, ``follow_up.d7``, ``sign_off.r2``); any
    other segment is an id (a registry id, a date-stamped case ref). The same id gets the same
    name across the keys given, and distinct keys stay distinct, so the (workflow, step key)
    uniqueness holds.
    """
    ids = sorted(
        {seg for key in step_keys for seg in key.split(".") if not _KEY_SEGMENT.match(seg)}
    )
    # ``~`` is in no kept segment, so a new name never meets a key that was already there.
    names = {seg: f"~{n}" for n, seg in enumerate(ids, start=1)}
    return {key: ".".join(names.get(seg, seg) for seg in key.split(".")) for key in step_keys}


def _applies(purposes: frozenset[str], purpose: str) -> bool:
    return not purposes or purpose in purposes


class Catalogue:
    """The catalogue bound to one app database: the tables that exist there, reflected once."""

    def __init__(self, engine: Engine, *, data_dir: Path) -> None:
        """Reflect the catalogue's tables that exist in ``engine``'s database.

        Args:
            engine: The app database.
            data_dir: Where report files are (``Settings.data_dir``).
        """
        self._engine = engine
        self._data_dir = data_dir
        self._tables: dict[str, Table] | None = None

    @property
    def tables(self) -> dict[str, Table]:
        """Name → table, for the catalogue's tables present in the database.

        Found on first use with a connection of its own: call it (or :meth:`load`) before
        opening a transaction, since on SQLite a second connection waits for the first.
        """
        return self.load()

    def load(self) -> dict[str, Table]:
        """Find the catalogue's tables in the database, once."""
        if self._tables is None:
            names = {s.table for s in SOURCES} | {r.table for r in RULES}
            names |= {x.table for x in LINKED} | {x.via for x in LINKED}
            names |= {x.table for x in SUBJECT_LINKS}
            present = set(inspect(self._engine).get_table_names())
            reflected = MetaData()
            # The models' own tables where their plugin is imported (their column types, e.g.
            # UTC times); otherwise the table as the database has it.
            models = SQLModel.metadata.tables
            self._tables = {
                name: models[name]
                if name in models
                else Table(name, reflected, autoload_with=self._engine)
                for name in sorted(names & present)
            }
        return self._tables

    @property
    def ledger(self) -> Table:
        """The ledger table."""
        return LEDGER

    # -- finding cases

    def sources(self) -> list[Source]:
        """The sources whose tables exist."""
        return [s for s in SOURCES if s.table in self.tables]

    def unlisted(
        self, district: str, purposes: list[str], source: Source
    ) -> Select[tuple[str, str]]:
        """Cases of ``source``'s table not in the ledger nor in an earlier source (each case
        is listed once), as (workflow id, purpose), ordered by workflow id."""
        table = self.tables[source.table]
        wf = table.c[source.workflow]
        purpose: ColumnElement[str]
        if source.process is None:
            if source.purpose not in purposes:
                return select(wf, literal("").label("purpose")).where(literal(False))
            purpose = literal(source.purpose)
            wanted: ColumnElement[bool] = literal(True)
        else:
            mapped = {p: c for p, c in _PROCESS_PURPOSE.items() if c in purposes}
            process = table.c[source.process]
            purpose = case(mapped, value=process, else_=literal(""))
            wanted = process.in_(sorted(mapped))
        ledger = self.ledger.c
        conditions = [
            table.c[source.district] == district,
            wanted,
            ~wf.startswith(TOKEN_PREFIX),
            ~exists().where(ledger.workflow_id == wf),
        ]
        for earlier in self.sources():
            if earlier is source:
                break
            other = self.tables[earlier.table]
            conditions.append(
                ~exists().where(
                    other.c[earlier.workflow] == wf, other.c[earlier.district] == district
                )
            )
        return (
            select(wf.label("workflow_id"), func.min(purpose).label("purpose"))
            .where(and_(*conditions))
            .group_by(wf)
            .order_by(wf)
        )

    # -- guards

    def open_tasks(self, session: Session, workflow_id: str) -> int:
        """Open task rows of the case: the inbox says it still runs."""
        if "task" not in self.tables:
            return 0
        task = self.tables["task"]
        query = select(func.count()).where(
            task.c.workflow_id == workflow_id, task.c.status == "open"
        )
        return int(session.execute(query).scalar_one())

    def last_written(self, session: Session, workflow_id: str) -> datetime | None:
        """The latest time the case wrote a task or case record (None if neither)."""
        moments = []
        if "task" in self.tables:
            task = self.tables["task"]
            moments.append(
                select(func.max(func.coalesce(task.c.closed_at, task.c.opened_at))).where(
                    task.c.workflow_id == workflow_id
                )
            )
        if "case_record" in self.tables:
            record = self.tables["case_record"]
            moments.append(
                select(func.max(record.c.created_at)).where(record.c.workflow_id == workflow_id)
            )
        found = [session.execute(q).scalar_one_or_none() for q in moments]
        # A reflected table reads SQLite times without their zone; careflow stores UTC.
        known = [m if m.tzinfo else m.replace(tzinfo=UTC) for m in found if m is not None]
        return max(known) if known else None

    # -- retaining

    def retain(
        self, session: Session, *, workflow_id: str, purpose: str, token: str, dry_run: bool
    ) -> dict[str, int]:
        """Delete and anonymise one case's rows and files; in a dry run only count them.

        Runs in the caller's transaction: the caller commits (or, on any error, nothing of
        the case is changed). Files are deleted last, so a database error deletes none.

        Returns:
            ``<table>.<deleted|anonymised>`` → rows (and ``report_file.deleted`` → files),
            only for what there was.
        """
        counts: dict[str, int] = {}
        for linked in LINKED:
            if _applies(linked.purposes, purpose) and {linked.table, linked.via} <= set(
                self.tables
            ):
                n = self._linked_delete(session, linked, workflow_id, dry_run=dry_run)
                if n:
                    counts[f"{linked.table}.deleted"] = n
        for rule in RULES:
            if _applies(rule.purposes, purpose) and rule.table in self.tables:
                n = self._apply(session, rule, workflow_id, token, dry_run=dry_run)
                if n:
                    done = "deleted" if rule.action == "delete" else "anonymised"
                    counts[f"{rule.table}.{done}"] = n
        files = self._files(workflow_id, purpose)
        if files:
            if not dry_run:
                session.flush()  # a database refusal surfaces before any file is gone
                for path in files:
                    path.unlink(missing_ok=True)
            counts["report_file.deleted"] = len(files)
        return dict(sorted(counts.items()))

    def _linked_delete(
        self, session: Session, linked: LinkedDelete, workflow_id: str, *, dry_run: bool
    ) -> int:
        table, via = self.tables[linked.table], self.tables[linked.via]
        people = select(via.c[linked.via_column]).where(via.c[linked.via_key] == workflow_id)
        where = [table.c[linked.column].in_(people)]
        where += [table.c[name] == value for name, value in linked.only_if.items()]
        count = int(session.execute(select(func.count()).where(*where)).scalar_one())
        if count and not dry_run:
            session.execute(delete(table).where(*where))
        return count

    def _apply(
        self, session: Session, rule: Rule, workflow_id: str, token: str, *, dry_run: bool
    ) -> int:
        table = self.tables[rule.table]
        where = table.c[rule.key] == workflow_id
        count = int(session.execute(select(func.count()).where(where)).scalar_one())
        if not count or dry_run:
            return count
        if rule.action == "delete":
            session.execute(delete(table).where(where))
            return count
        per_row = {Value.ROW_TOKEN, Value.SCRUB, Value.STEP_KEY}
        if not per_row & set(rule.set.values()):
            values = {
                name: self._value(table.c[name], how, token) for name, how in rule.set.items()
            }
            session.execute(update(table).where(where).values(values))
            return count
        self._apply_per_row(session, table, rule, where, token)
        return count

    @staticmethod
    def _value(column: Column[Any], how: Value, token: str) -> Any:
        if how is Value.TOKEN:
            return token
        if how is Value.NULL:
            return None
        if how is Value.EMPTY:
            return ""
        if how is Value.RECIPIENT:
            return case((column.startswith("role:"), column), else_=literal(token))
        raise ValueError(f"{how} is computed per row")

    def _apply_per_row(
        self,
        session: Session,
        table: Table,
        rule: Rule,
        where: ColumnElement[bool],
        token: str,
    ) -> None:
        """Rows whose new values depend on the row (scrubbed JSON, unique tokens, step keys)."""
        keys = list(table.primary_key.columns)
        read = [
            table.c[name]
            for name, how in rule.set.items()
            if how in (Value.SCRUB, Value.STEP_KEY) and table.c[name] not in keys
        ]
        rows = session.execute(select(*keys, *read).where(where).order_by(*keys)).all()
        step_keys = [
            str(row._mapping[table.c[name]])
            for row in rows
            for name, how in rule.set.items()
            if how is Value.STEP_KEY
        ]
        renamed = key_renames(step_keys)
        for ordinal, row in enumerate(rows, start=1):
            values: dict[str, Any] = {}
            for name, how in rule.set.items():
                if how is Value.SCRUB:
                    values[name] = scrub(row._mapping[table.c[name]])
                elif how is Value.ROW_TOKEN:
                    values[name] = f"{token}.{ordinal}"
                elif how is Value.STEP_KEY:
                    values[name] = renamed[str(row._mapping[table.c[name]])]
                else:
                    values[name] = self._value(table.c[name], how, token)
            match = and_(*(key == row._mapping[key] for key in keys))
            session.execute(update(table).where(match).values(values))

    def _files(self, workflow_id: str, purpose: str) -> list[Path]:
        found: list[Path] = []
        for files in REPORT_FILES:
            folder = self._data_dir / files.folder
            if not _applies(files.purposes, purpose) or not folder.is_dir():
                continue
            found += sorted(
                p for p in folder.iterdir() if p.is_file() and files.matches(workflow_id, p.name)
            )
        return found

    # -- withdrawn consent

    def cases_about(
        self, session: Session, *, district: str, purpose: str, subject: str
    ) -> list[str]:
        """Workflow ids of the district's cases of ``purpose`` that hold ``subject``'s data:
        a case ref, a step key or JSON naming them, or a subject link (candidates: each is
        confirmed row by row when it is changed)."""
        processes = sorted(p for p, c in _PROCESS_PURPOSE.items() if c == purpose)
        like = f"%{subject}%"
        found: set[str] = set()
        for name, extra in (
            ("task", ("case_ref", "step_key")),
            ("case_record", ("case_ref", "step_key", "data")),
        ):
            if name not in self.tables:
                continue
            table = self.tables[name]
            mentions = [table.c.case_ref == subject]
            mentions += [table.c[c].cast(String()).like(like) for c in extra[1:]]
            query = select(table.c.workflow_id).where(
                table.c.district == district,
                table.c.process.in_(processes),
                or_(*mentions),
            )
            found |= set(session.execute(query).scalars())
        for link in SUBJECT_LINKS:
            if not _applies(link.purposes, purpose) or link.table not in self.tables:
                continue
            table = self.tables[link.table]
            query = select(table.c[link.key]).where(table.c[link.column] == subject)
            if "district" in table.c:
                query = query.where(table.c.district == district)
            found |= set(session.execute(query).scalars())
        return sorted(w for w in found if not w.startswith(TOKEN_PREFIX))

    def owned_by(self, session: Session, *, workflow_id: str, purpose: str, subject: str) -> bool:
        """Whether the whole case is ``subject``'s: every case ref of its tasks and records,
        or every row of an owner link, names them."""
        refs: set[str] = set()
        for name in ("task", "case_record"):
            if name in self.tables:
                table = self.tables[name]
                refs |= set(
                    session.execute(
                        select(table.c.case_ref).where(table.c.workflow_id == workflow_id)
                    ).scalars()
                )
        if refs == {subject}:
            return True
        for link in SUBJECT_LINKS:
            if not link.owner or not _applies(link.purposes, purpose):
                continue
            if link.table not in self.tables:
                continue
            table = self.tables[link.table]
            named = set(
                session.execute(
                    select(table.c[link.column]).where(table.c[link.key] == workflow_id)
                ).scalars()
            )
            if named == {subject}:
                return True
        return False

    def forget(
        self,
        session: Session,
        *,
        workflow_id: str,
        purpose: str,
        subject: str,
        token: str,
        dry_run: bool,
    ) -> dict[str, int]:
        """Anonymise one person's rows in a case that holds others too (a campaign).

        Their link rows (wishes) lose the link and free text; their tasks, records and
        notifications lose the case ref, answers and JSON naming them, and the id in their
        step keys becomes ``token``. The case keeps its workflow id: it is still the others'.

        Returns:
            ``<table>.anonymised`` → rows, only for what there was.
        """
        counts: dict[str, int] = {}
        row_ids: dict[str, set[str]] = {}
        for link in SUBJECT_LINKS:
            if link.owner or not _applies(link.purposes, purpose) or link.table not in self.tables:
                continue
            table = self.tables[link.table]
            where = and_(table.c[link.key] == workflow_id, table.c[link.column] == subject)
            keys = list(table.primary_key.columns)
            rows = session.execute(select(*keys).where(where)).all()
            if not rows:
                continue
            counts[f"{link.table}.anonymised"] = len(rows)
            for prefix in link.step_ids:
                row_ids.setdefault(prefix, set()).update(str(r[0]) for r in rows)
            if not dry_run:
                values = {n: self._value(table.c[n], how, token) for n, how in link.forget.items()}
                session.execute(update(table).where(where).values(values))

        def named(step_key: str) -> bool:
            segments = step_key.split(".")
            if subject in segments:
                return True
            return len(segments) > 1 and segments[1] in row_ids.get(segments[0], set())

        for name, ref, json_column in (
            ("task", "case_ref", "result"),
            ("case_record", "case_ref", "data"),
            ("notification", "recipient_ref", "params"),
        ):
            if name not in self.tables:
                continue
            table = self.tables[name]
            keys = list(table.primary_key.columns)
            columns = [table.c[ref], table.c.step_key, table.c[json_column]]
            rows = session.execute(
                select(*keys, *columns).where(table.c.workflow_id == workflow_id)
            ).all()
            changed = 0
            for row in rows:
                cells = row._mapping
                if not (
                    cells[table.c[ref]] == subject
                    or named(str(cells[table.c.step_key]))
                    or _names(cells[table.c[json_column]], subject)
                ):
                    continue
                changed += 1
                if dry_run:
                    continue
                update_to: dict[str, Any] = {
                    "step_key": ".".join(
                        token if seg == subject else seg
                        for seg in str(cells[table.c.step_key]).split(".")
                    ),
                    json_column: None if name == "task" else scrub(cells[table.c[json_column]]),
                }
                if cells[table.c[ref]] == subject:
                    update_to[ref] = token
                if name == "notification":
                    update_to["body_zh"] = ""
                match = and_(*(key == cells[key] for key in keys))
                session.execute(update(table).where(match).values(update_to))
            if changed:
                counts[f"{name}.anonymised"] = changed
        return dict(sorted(counts.items()))


def _names(value: Any, subject: str) -> bool:
    """Whether JSON ``value`` holds ``subject`` as a value or a dot-segment of one."""
    if isinstance(value, str):
        return value == subject or subject in value.split(".")
    if isinstance(value, dict):
        return any(_names(v, subject) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_names(v, subject) for v in value)
    return False
