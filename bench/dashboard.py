"""Dashboard 统计看板 of a district with a year of data: time per section and the whole page.

Issue 14: the dashboard of a district with a year of data (5,000 watched elders' daily curtain
checks, 500 green-channel cases, 20,000 other tasks) renders in under 1 second.

The data is generated straight into a fresh app database (migrated, demo registry and
accounts seeded), shaped as the processes write it:

* Curtain appointment 窗帘之约: ``--elders`` extra elders of the district's demo communities,
  each paired with a volunteer of their community (``pairing``, kind ``curtain``: what the
  morning round lists). Every local day of the year ending yesterday, each elder not away
  gets one bulk check task of the round's batch (``eldercare.curtain_batch-<district>-
  <YYYYMMDD>.b<n>``, step ``check.<elder>.<YYYYMMDD>``, opened 09:30, due 11:00); most are
  reported open on time, the others (curtains closed, or no report by 11:00: expired) start a
  check process with its ``call`` task, a ``door`` task when the call did not settle it, the
  records of each step and, rarely, a ``curtain_emergency``. Away notices suppress checks.
* Green channel 急诊绿色通道: ``--cases`` channels opened over the year, each with the
  workflow's records (opened, triaged, booking requested / hospital accepted or refused,
  escorted, arrived with ``minutes_to_arrival``, discharged, follow-ups, closed with its
  outcome) and tasks (the district's family-doctor triage, triage, hospital responses,
  transport, arrival, discharge, follow-ups on days 1, 7, 30), statuses as of now; a few
  channels rejected by the registry check.
* ``--tasks`` other tasks (deliveries, community events, micro-wishes, festival visits) of
  various roles, due times and statuses: done on time, done late after an escalation,
  expired, cancelled, open, open and overdue.

Rows are inserted in bulk (SQLAlchemy core ``insert`` with many rows per statement), every
task with its form's JSON Schema as ``open_tasks`` stores it. Then, with ``--repeats``
(median and max): each section's ``compute`` for the dashboard's default period (the 30 days
ending yesterday), the last calendar month and the whole year, and the dashboard page itself
through the staff service app (httpx ``ASGITransport``, logged in through the console's login
form as ``<district>-district_admin``), with a baseline in the same run: ``SELECT count(*)``
over the task table and the same page for a period with no data. Goal: the default page in
under 1 s.

    .venv/bin/python bench/dashboard.py [--elders 5000] [--cases 500] [--tasks 20000]
        [--repeats 5] [--district xinghualing] [--explain]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import random
import re
import secrets
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, insert, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import Session, SQLModel, col, select

from careflow.db import make_engine, upgrade
from careflow.db.seed import seed_demo
from careflow.db.seed_accounts import DEMO_PASSWORD, seed_demo_accounts
from careflow.db.tables import Area, CaseRecord, Pairing, Person, Provider, Task, Volunteer
from careflow.figures import FigureQuery, FigureSpec, Period, sections_for
from careflow.forms import form_ref
from careflow.localtime import STAFF_TIMEZONE
from careflow.logging import configure_logging
from careflow.registry import PluginRegistry, discover_plugins
from careflow.settings import Settings
from plugins.eldercare.curtain.forms import CallForm, CurtainCheckForm, DoorCheckForm
from plugins.eldercare.curtain.models import (
    AWAY_PROCESS,
    BATCH_WORKFLOW,
    CHECK_PROCESS,
    ROUND_PROCESS,
)
from plugins.eldercare.curtain.tables import CurtainAwayNotice
from plugins.eldercare.green_channel.forms import (
    ArrangeHospitalForm,
    ArrivalForm,
    DischargeForm,
    FollowUpForm,
    HospitalResponseForm,
    TransportForm,
    TriageForm,
)
from plugins.eldercare.green_channel.models import GREEN_CHANNEL_PROCESS
from staff_service.app import create_app
from staff_service.console.dashboard import DASHBOARD_PATH, default_period

TARGET_S = 1.0
BASE = "http://dashboard.bench"
_CHUNK = 5_000
"""Rows per insert statement (and per generated batch)."""
_BATCH_SIZE = 500
"""The round's default batch size (``CurtainRoundParams.batch_size``)."""


# --- the database ------------------------------------------------------------------------------


@contextmanager
def _database(server_url: str | None) -> Iterator[str]:
    """A fresh app database: SQLite in a temporary folder, or a new database on the PostgreSQL
    server of ``server_url`` (dropped afterwards)."""
    if server_url is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    name = f"careflow_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# --- generation --------------------------------------------------------------------------------


def _local(day: date, hour: int, minute: int = 0, second: float = 0.0) -> datetime:
    """A local moment (Asia/Shanghai) in UTC, as careflow stores moments."""
    whole = int(second)
    return datetime(
        day.year,
        day.month,
        day.day,
        hour,
        minute,
        whole,
        int((second - whole) * 1_000_000),
        tzinfo=STAFF_TIMEZONE,
    ).astimezone(UTC)


def _key(ref: str) -> str:
    """A case key shaped like ``careflow.privacy.pseudonyms``' (17 lowercase base32 letters);
    derived here without the data directory's pseudonym key."""
    digest = hashlib.blake2b(ref.encode(), digest_size=11).digest()
    return "k" + "".join("abcdefghijklmnopqrstuvwxyz234567"[b % 32] for b in digest)[:16]


@dataclass
class _Forms:
    """Form refs and their JSON Schemas (each task row stores its form's schema)."""

    schemas: dict[type, tuple[str, dict[str, Any]]] = field(default_factory=dict)

    def __call__(self, form: type) -> tuple[str, dict[str, Any]]:
        if form not in self.schemas:
            self.schemas[form] = (form_ref(form), form.model_json_schema())  # type: ignore[attr-defined]
        return self.schemas[form]


@dataclass
class _Writer:
    """Buffers rows per table and inserts them in bulk."""

    connection: Connection
    now: datetime
    forms: _Forms = field(default_factory=_Forms)
    buffers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    _serial: int = 0

    def task_id(self) -> str:
        # ``T`` + 12 hex digits like the runtime's ids; an odd multiplier modulo 2**48 is a
        # bijection, so ids never collide.
        self._serial += 1
        return f"T{(self._serial * 0x9E3779B97F4A7C15 + 0x5BD1E995) % 2**48:012x}"

    def add(self, model: type[SQLModel], row: dict[str, Any]) -> None:
        name = str(model.__tablename__)
        buffer = self.buffers.setdefault(name, [])
        buffer.append(row)
        if len(buffer) >= _CHUNK:
            self.flush(name)

    def flush(self, name: str | None = None) -> None:
        for table in [name] if name else list(self.buffers):
            rows = self.buffers.get(table)
            if rows:
                self.connection.execute(insert(SQLModel.metadata.tables[table]), rows)
                self.counts[table] = self.counts.get(table, 0) + len(rows)
                rows.clear()

    def task(
        self,
        *,
        workflow_id: str,
        step_key: str,
        process: str,
        module: str,
        district: str,
        community: str | None,
        case_ref: str,
        role: str,
        title_zh: str,
        title_en: str,
        form: type,
        opened_at: datetime,
        due: timedelta,
        outcome: _Outcome,
    ) -> datetime | None:
        """One task as ``open_task`` writes it and the runtime closes or escalates it; returns
        when it closed (None: open now). Tasks opened after now are not written."""
        if opened_at >= self.now:
            return None
        ref, schema = self.forms(form)
        due_at = opened_at + due
        row: dict[str, Any] = {
            "task_id": self.task_id(),
            "workflow_id": workflow_id,
            "step_key": step_key,
            "process": process,
            "module": module,
            "district": district,
            "community": community,
            "case_ref": case_ref,
            "role": role,
            "title_zh": title_zh,
            "title_en": title_en,
            "form_ref": ref,
            "form_schema": schema,
            "status": "open",
            "escalation_level": 0,
            "overdue": False,
            "due_at": due_at,
            "opened_at": opened_at,
            "closed_at": None,
            "completed_by": None,
            "completed_role": None,
            "result": None,
            "assignee": None,
            "claimed_at": None,
        }
        if outcome.escalate_to is not None and due_at < self.now:
            # ``escalate_task``: the next role, level 1, the next deadline, flagged overdue.
            row.update(
                role=outcome.escalate_to,
                escalation_level=1,
                overdue=True,
                due_at=due_at + (outcome.escalation_due or due),
            )
        closed_at: datetime | None = None
        if outcome.status == "done":
            closed_at = opened_at + outcome.after
        elif outcome.status in ("expired", "cancelled"):
            closed_at = row["due_at"] if outcome.status == "expired" else opened_at + outcome.after
        if closed_at is not None and closed_at < self.now:
            row.update(status=outcome.status, closed_at=closed_at)
            if outcome.status == "done":
                row.update(
                    completed_by=outcome.actor,
                    completed_role=row["role"],
                    result=outcome.result,
                )
        else:
            closed_at = None
        self.add(Task, row)
        return closed_at

    def record(
        self,
        *,
        workflow_id: str,
        step_key: str,
        process: str,
        district: str,
        case_ref: str,
        kind: str,
        data: dict[str, Any],
        at: datetime,
    ) -> None:
        """One ``case_record`` row as ``CareProcess.record`` writes it (not after now)."""
        if at >= self.now:
            return
        self.add(
            CaseRecord,
            {
                "workflow_id": workflow_id,
                "step_key": step_key,
                "process": process,
                "district": district,
                "case_ref": case_ref,
                "kind": kind,
                "data": data,
                "created_at": at,
            },
        )


@dataclass(frozen=True, slots=True)
class _Outcome:
    """How a task ends: status, after how long, by whom, with what; escalated or not."""

    status: str
    after: timedelta = timedelta(0)
    actor: str | None = None
    result: dict[str, Any] | None = None
    escalate_to: str | None = None
    escalation_due: timedelta | None = None


@dataclass
class _Elder:
    id: str
    community: str
    volunteer: str
    disabled: bool


def _registry_rows(
    session: Session, writer: _Writer, rng: random.Random, district: str, elders: int
) -> list[_Elder]:
    """``elders`` more elders of the district's communities, each paired for the curtain."""
    communities = list(
        session.exec(
            select(Area.code)
            .where(Area.level == "community", col(Area.code).startswith(f"{district}."))
            .order_by(col(Area.code))
        ).all()
    )
    if not communities:
        raise SystemExit(f"the demo registry has no communities in {district!r}")
    volunteers: dict[str, list[str]] = {}
    for vid, community in session.exec(
        select(Volunteer.id, Volunteer.community_code).where(
            col(Volunteer.community_code).in_(communities)
        )
    ):
        volunteers.setdefault(community, []).append(vid)
    for community in communities:  # a community without volunteers gets one
        if community not in volunteers:
            vid = f"VB{len(volunteers):04d}"
            writer.add(
                Volunteer,
                {"id": vid, "name": "志愿者", "community_code": community, "kind": "resident"},
            )
            volunteers[community] = [vid]
    writer.flush()
    out: list[_Elder] = []
    # Weighted communities: some are much larger than others, as in a real district.
    weights = [rng.uniform(0.4, 2.0) for _ in communities]
    for n in range(elders):
        community = rng.choices(communities, weights)[0]
        elder = _Elder(
            id=f"PB{n + 1:06d}",
            community=community,
            volunteer=rng.choice(volunteers[community]),
            disabled=rng.random() < 0.25,
        )
        writer.add(
            Person,
            {
                "id": elder.id,
                "kind": "elder",
                "name": "测试老人",
                "id_number": f"140000{n:012d}",
                "phone": None,
                "address": None,
                "gender": rng.choice("MF"),
                "birth_date": date(1930 + rng.randrange(25), 1 + rng.randrange(12), 1),
                "community_code": community,
                "lives_alone": True,
                "disability_level": rng.randint(1, 4) if elder.disabled else 0,
                "low_income": rng.random() < 0.1,
                "pensioner": True,
                "home_bound": False,
            },
        )
        out.append(elder)
    writer.flush()
    for elder in out:
        writer.add(
            Pairing,
            {
                "volunteer_id": elder.volunteer,
                "elder_id": elder.id,
                "kind": "curtain",
                "active": True,
            },
        )
    writer.flush()
    return out


def _curtain(
    writer: _Writer,
    rng: random.Random,
    district: str,
    elders: list[_Elder],
    days: list[date],
) -> None:
    """A year of morning rounds: away notices, batches of checks, escalations, emergencies."""
    # Away notices: about one elder in ten is away once a year, 2 to 14 days.
    away: dict[str, list[tuple[date, date]]] = {}
    for n, elder in enumerate(rng.sample(elders, len(elders) // 10)):
        start = rng.choice(days)
        until = start + timedelta(days=rng.randint(1, 13))
        away.setdefault(elder.id, []).append((start, until))
        filed = _local(start - timedelta(days=1), rng.randint(8, 20), rng.randrange(60))
        wf = f"{AWAY_PROCESS}-{district}-{_key(f'away{n}')}"
        writer.add(
            CurtainAwayNotice,
            {
                "elder_id": elder.id,
                "district": district,
                "away_from": start,
                "away_until": until,
                "filed_by": rng.choice(("elder", "family", "staff")),
                "workflow_id": wf,
                "step_key": "notice",
                "created_at": filed,
            },
        )
        writer.record(
            workflow_id=wf,
            step_key="notice",
            process=AWAY_PROCESS,
            district=district,
            case_ref=elder.id,
            kind="away_notice_filed",
            data={
                "notice_id": n + 1,
                "away_from": start.isoformat(),
                "away_until": until.isoformat(),
            },
            at=filed,
        )
    writer.flush()
    ordered = sorted(elders, key=lambda e: e.id)  # the round lists elders by id
    report_within = timedelta(minutes=90)
    for day in days:
        round_at = _local(day, 9, 30)
        due_by = round_at + report_within
        stamp = f"{day:%Y%m%d}"
        watching = [e for e in ordered if not any(a <= day <= u for a, u in away.get(e.id, ()))]
        round_wf = f"{ROUND_PROCESS}-{district}-{stamp}"
        for b in range(0, len(watching), _BATCH_SIZE):
            number = b // _BATCH_SIZE + 1
            batch_wf = f"{BATCH_WORKFLOW}-{district}-{stamp}.b{number}"
            opened = round_at + timedelta(seconds=2 + number * 0.4)
            for elder in watching[b : b + _BATCH_SIZE]:
                ref = f"{elder.id}.{stamp}"
                draw = rng.random()
                actor = f"volunteer:{elder.volunteer}"
                if draw < 0.975:
                    outcome = _Outcome(
                        "done",
                        timedelta(minutes=rng.uniform(3, 88)),
                        actor,
                        {"curtains": "open"},
                    )
                elif draw < 0.988:
                    outcome = _Outcome(
                        "done",
                        timedelta(minutes=rng.uniform(3, 88)),
                        actor,
                        {"curtains": "closed"},
                    )
                else:
                    outcome = _Outcome("expired")
                closed = writer.task(
                    workflow_id=batch_wf,
                    step_key=f"check.{ref}",
                    process=CHECK_PROCESS,
                    module="eldercare",
                    district=district,
                    community=elder.community,
                    case_ref=ref,
                    role="volunteer",
                    title_zh="窗帘之约：查看今早窗帘",
                    title_en="Curtain check: are the curtains open this morning?",
                    form=CurtainCheckForm,
                    opened_at=opened,
                    due=due_by - opened,
                    outcome=outcome,
                )
                if draw >= 0.975 and closed is not None:
                    _escalation(writer, rng, district, elder, ref, closed, outcome.status)
        writer.record(
            workflow_id=round_wf,
            step_key="round",
            process=ROUND_PROCESS,
            district=district,
            case_ref=stamp,
            kind="curtain_round",
            data={"day": day.isoformat(), "watched": len(ordered)},
            at=round_at + timedelta(seconds=8),
        )
    writer.flush()


def _escalation(
    writer: _Writer,
    rng: random.Random,
    district: str,
    elder: _Elder,
    ref: str,
    seen_at: datetime,
    status: str,
) -> None:
    """The check process a batch starts when curtains were closed or nobody reported."""
    wf = f"{CHECK_PROCESS}-{district}-{_key(ref)}"
    base = {"workflow_id": wf, "process": CHECK_PROCESS, "district": district, "case_ref": ref}
    at = seen_at + timedelta(seconds=1)
    if status == "done":
        writer.record(**base, step_key="report", kind="curtains_closed", data={"by": None}, at=at)
    else:
        writer.record(**base, step_key="report", kind="no_report", data={}, at=at)
    draw = rng.random()
    if draw < 0.7:
        call = _Outcome(
            "done",
            timedelta(minutes=rng.uniform(2, 28)),
            f"volunteer:{elder.volunteer}",
            {"reached": True, "elder_ok": True},
        )
    elif draw < 0.85:
        call = _Outcome(
            "done",
            timedelta(minutes=rng.uniform(2, 28)),
            f"volunteer:{elder.volunteer}",
            {"reached": False, "elder_ok": False},
        )
    else:
        call = _Outcome(
            "expired", escalate_to="community_staff", escalation_due=timedelta(minutes=30)
        )
    closed = writer.task(
        **base,
        step_key="call",
        module="eldercare",
        community=elder.community,
        role="volunteer",
        title_zh="窗帘之约：电话联系老人",
        title_en="Curtain check: call the elder",
        form=CallForm,
        opened_at=at + timedelta(seconds=1),
        due=timedelta(minutes=30),
        outcome=call,
    )
    if closed is None:
        return
    if draw < 0.7:
        writer.record(**base, step_key="call", kind="reached_by_phone", data={}, at=closed)
        return
    writer.record(**base, step_key="call", kind="call_unanswered", data={}, at=closed)
    finding = "fine" if rng.random() < 0.9 else ("away" if rng.random() < 0.5 else "no_response")
    door = writer.task(
        **base,
        step_key="door",
        module="eldercare",
        community=elder.community,
        role="grid_worker",
        title_zh="窗帘之约：上门查看",
        title_en="Curtain check: knock at the door",
        form=DoorCheckForm,
        opened_at=closed + timedelta(seconds=1),
        due=timedelta(hours=1),
        outcome=_Outcome(
            "done", timedelta(minutes=rng.uniform(10, 55)), "S0001", {"finding": finding}
        ),
    )
    if door is None:
        return
    writer.record(**base, step_key="door", kind=f"door_{finding}", data={}, at=door)
    if finding == "no_response":
        green = (
            f"{GREEN_CHANNEL_PROCESS}-{district}-{_key(ref + '.gc')}" if elder.disabled else None
        )
        writer.record(
            **base,
            step_key="emergency",
            kind="curtain_emergency",
            data={"green_channel": green},
            at=door + timedelta(seconds=3),
        )


def _green_channel(
    writer: _Writer,
    rng: random.Random,
    district: str,
    elders: list[_Elder],
    hospitals: tuple[str, str],
    since: datetime,
    cases: int,
) -> None:
    """``cases`` channels over the year, from opening to closing (or where they are now)."""
    disabled = [e for e in elders if e.disabled] or elders
    span = (writer.now - since).total_seconds()
    partner, fallback = hospitals
    for n in range(cases):
        elder = rng.choice(disabled)
        opened = since + timedelta(seconds=rng.uniform(0, span - 3600))
        ref = f"{elder.id}.{opened.astimezone(STAFF_TIMEZONE):%Y%m%d}.gc"
        wf = f"{GREEN_CHANNEL_PROCESS}-{district}-{_key(ref + str(n))}"
        base = {
            "workflow_id": wf,
            "process": GREEN_CHANNEL_PROCESS,
            "district": district,
            "case_ref": ref,
        }
        common = {**base, "module": "eldercare", "community": elder.community}
        if rng.random() < 0.04:
            writer.record(
                **base,
                step_key="rejected",
                kind="green_channel_rejected",
                data={"elder_ref": elder.id, "reason": "no_disability_level"},
                at=opened,
            )
            continue
        writer.record(
            **base,
            step_key="opened",
            kind="green_channel_opened",
            data={
                "elder_ref": elder.id,
                "source": "curtain_check",
                "source_ref": None,
                "disability_level": 2,
            },
            at=opened,
        )
        t = opened + timedelta(seconds=2)

        def step(
            key: str,
            role: str,
            zh: str,
            form: type,
            due: timedelta,
            outcome: _Outcome,
            at: datetime,
            common: dict[str, Any] = common,
        ) -> datetime | None:
            return writer.task(
                **common,
                step_key=key,
                role=role,
                title_zh=zh,
                title_en=zh,
                form=form,
                opened_at=at,
                due=due,
                outcome=outcome,
            )

        def quick(
            lo: float,
            hi: float,
            actor: str,
            result: dict[str, Any],
            late: str | None = None,
            p_late: float = 0.12,
        ) -> _Outcome:
            if late is not None and rng.random() < p_late:
                return _Outcome(
                    "done",
                    timedelta(minutes=rng.uniform(hi, 2 * hi)),
                    actor,
                    result,
                    escalate_to=late,
                    escalation_due=timedelta(minutes=hi),
                )
            return _Outcome("done", timedelta(minutes=rng.uniform(lo, hi)), actor, result)

        # The district's own step before triage: the contracted family doctor.
        t2 = step(
            "xinghualing.family_doctor_triage",
            "doctor",
            "签约家庭医生参与急诊分诊",
            TriageForm,
            timedelta(minutes=15),
            quick(2, 14, "S0101", {"agrees": True}, "district_admin"),
            t,
        )
        if t2 is None:
            continue
        triage = step(
            "triage",
            "doctor",
            "急诊绿色通道分诊",
            TriageForm,
            timedelta(minutes=10),
            quick(
                1, 9, "S0101", {"level": "urgent", "ambulance_120_called": True}, "district_admin"
            ),
            t2 + timedelta(seconds=1),
        )
        if triage is None:
            continue
        writer.record(
            **base,
            step_key="triage",
            kind="triaged",
            data={"level": "urgent", "by": "S0101"},
            at=triage,
        )
        if rng.random() < 0.45:
            writer.record(
                **base,
                step_key="ambulance",
                kind="ambulance_120_called",
                data={"by": "S0101", "at": triage.isoformat()},
                at=triage,
            )
        t = triage + timedelta(seconds=2)
        accepted_at: datetime | None = None
        for attempt, hospital in enumerate((partner, fallback), start=1):
            writer.record(
                **base,
                step_key=f"booking.{attempt}",
                kind="booking_requested",
                data={"hospital_ref": hospital, "booking_ref": f"B{n}.{attempt}"},
                at=t,
            )
            yes = rng.random() < (0.85 if attempt == 1 else 0.8)
            answered = step(
                f"booking.{attempt}.response",
                "hospital",
                "确认急诊接收",
                HospitalResponseForm,
                timedelta(minutes=15),
                quick(1, 14, "S0201", {"accepted": yes}, "community_staff", 0.08),
                t + timedelta(seconds=1),
            )
            if answered is None:
                break
            writer.record(
                **base,
                step_key=f"booking.{attempt}.response",
                kind="hospital_accepted" if yes else "hospital_refused",
                data={"hospital_ref": hospital, "reason_code": None if yes else "full"},
                at=answered,
            )
            t = answered + timedelta(seconds=1)
            if yes:
                accepted_at = answered
                break
        else:
            arranged = rng.random() < 0.9
            done = step(
                "arrange",
                "district_admin",
                "协调接收医院",
                ArrangeHospitalForm,
                timedelta(minutes=30),
                quick(5, 29, "S0301", {"arranged": arranged, "hospital_ref": partner}),
                t,
            )
            if done is None:
                continue
            if arranged:
                writer.record(
                    **base,
                    step_key="arranged",
                    kind="hospital_arranged",
                    data={"hospital_ref": partner, "by": "S0301"},
                    at=done,
                )
                accepted_at = done
            else:
                writer.record(
                    **base,
                    step_key="closed",
                    kind="green_channel_closed",
                    data={"outcome": "no_hospital", "minutes_to_arrival": None},
                    at=done + timedelta(seconds=2),
                )
                continue
        if accepted_at is None:
            continue
        escorted = step(
            "transport",
            "grid_worker",
            "陪同老人转运就医",
            TransportForm,
            timedelta(minutes=20),
            quick(5, 19, "S0401", {"escorted": True}, "community_staff"),
            accepted_at + timedelta(seconds=2),
        )
        if escorted is None:
            continue
        writer.record(
            **base, step_key="transport", kind="escorted", data={"by": "S0401"}, at=escorted
        )
        if rng.random() < 0.04:
            arrival = _Outcome(
                "expired", escalate_to="community_staff", escalation_due=timedelta(hours=1)
            )
        else:
            arrival = _Outcome("done", timedelta(minutes=rng.lognormvariate(3.0, 0.5)), "S0201", {})
        arrived = step(
            "arrival",
            "hospital",
            "确认老人到院",
            ArrivalForm,
            timedelta(hours=2),
            arrival,
            escorted + timedelta(seconds=1),
        )
        if arrived is None:
            continue
        minutes: float | None = None
        if arrival.status == "done":
            minutes = round((arrived - opened).total_seconds() / 60, 1)
            writer.record(
                **base,
                step_key="arrival",
                kind="arrived",
                data={"hospital_ref": partner, "minutes_to_arrival": minutes},
                at=arrived,
            )
        else:
            writer.record(
                **base, step_key="arrival", kind="arrival_unconfirmed", data={}, at=arrived
            )
        deceased = rng.random() < 0.05
        discharged = step(
            "discharge",
            "hospital",
            "登记出院",
            DischargeForm,
            timedelta(days=30),
            _Outcome(
                "done",
                timedelta(days=rng.uniform(2, 20)),
                "S0201",
                {"disposition": "deceased" if deceased else "home"},
            ),
            arrived + timedelta(seconds=1),
        )
        if discharged is None:
            continue
        writer.record(
            **base,
            step_key="discharge",
            kind="discharged",
            data={"disposition": "deceased" if deceased else "home"},
            at=discharged,
        )
        last = discharged
        if not deceased:
            sickbed = step(
                "xinghualing.home_sickbed",
                "doctor",
                "出院后家庭病床评估",
                FollowUpForm,
                timedelta(days=3),
                _Outcome("done", timedelta(days=rng.uniform(0.2, 2.9)), "S0101", {}),
                discharged + timedelta(seconds=2),
            )
            if sickbed is None:
                continue
            for day_n in (1, 7, 30):
                opened_fu = discharged + timedelta(days=day_n)
                draw = rng.random()
                if draw < 0.8:
                    fu = _Outcome(
                        "done",
                        timedelta(hours=rng.uniform(1, 23)),
                        "S0101",
                        {"visited": True, "condition": "stable"},
                    )
                elif draw < 0.92:
                    fu = _Outcome(
                        "done",
                        timedelta(hours=rng.uniform(25, 47)),
                        "S0101",
                        {"visited": True, "condition": "stable"},
                        escalate_to="district_admin",
                        escalation_due=timedelta(days=1),
                    )
                else:
                    fu = _Outcome(
                        "expired", escalate_to="district_admin", escalation_due=timedelta(days=1)
                    )
                key = f"follow_up.d{day_n}"
                closed = step(
                    key,
                    "doctor",
                    f"出院后第{day_n}天上门随访",
                    FollowUpForm,
                    timedelta(days=1),
                    fu,
                    opened_fu,
                )
                if closed is None:
                    break
                writer.record(
                    **base,
                    step_key=key,
                    kind="follow_up_visited" if fu.status == "done" else "follow_up_missed",
                    data={"day": day_n},
                    at=closed,
                )
                last = closed
            else:
                writer.record(
                    **base,
                    step_key="closed",
                    kind="green_channel_closed",
                    data={"outcome": "completed", "minutes_to_arrival": minutes},
                    at=last + timedelta(seconds=2),
                )
            continue
        writer.record(
            **base,
            step_key="closed",
            kind="green_channel_closed",
            data={"outcome": "deceased", "minutes_to_arrival": minutes},
            at=last + timedelta(seconds=2),
        )
    writer.flush()


_OTHER_TASKS: tuple[tuple[str, str, str, str, str, timedelta, str | None], ...] = (
    # process, module, step key, role, title, due, escalated to
    (
        "delivery",
        "shared",
        "dropoff",
        "community_staff",
        "送达物资",
        timedelta(days=2),
        "district_admin",
    ),
    ("delivery", "shared", "pickup", "volunteer", "取件", timedelta(days=1), "community_staff"),
    (
        "delivery",
        "shared",
        "handover",
        "grid_worker",
        "交接物资",
        timedelta(days=1),
        "community_staff",
    ),
    (
        "community_event",
        "shared",
        "approve",
        "community_staff",
        "活动审批",
        timedelta(days=3),
        "district_admin",
    ),
    ("community_event", "shared", "attendance", "volunteer", "活动签到", timedelta(hours=6), None),
    (
        "childcare.microwish",
        "childcare",
        "review",
        "community_staff",
        "审核微心愿",
        timedelta(days=3),
        "district_admin",
    ),
    (
        "childcare.microwish",
        "childcare",
        "claim",
        "charity_officer",
        "认领微心愿",
        timedelta(days=7),
        "district_admin",
    ),
    (
        "eldercare.festival",
        "eldercare",
        "visit",
        "grid_worker",
        "节日慰问",
        timedelta(days=2),
        "community_staff",
    ),
    (
        "childcare.places",
        "childcare",
        "confirm",
        "community_staff",
        "确认托位",
        timedelta(days=1),
        None,
    ),
)


def _other_tasks(
    writer: _Writer,
    rng: random.Random,
    district: str,
    communities: list[str],
    since: datetime,
    count: int,
) -> None:
    """``count`` tasks of other processes over the year, statuses as of now."""
    span = (writer.now - since).total_seconds()
    for n in range(count):
        process, module, key, role, zh, due, up = rng.choice(_OTHER_TASKS)
        opened = since + timedelta(seconds=rng.uniform(0, span))
        draw = rng.random()
        if draw < 0.7:
            outcome = _Outcome("done", due * rng.uniform(0.05, 0.95), "S0001", {"ok": True})
        elif draw < 0.82 and up is not None:
            outcome = _Outcome(
                "done",
                due * rng.uniform(1.05, 1.9),
                "S0001",
                {"ok": True},
                escalate_to=up,
                escalation_due=due,
            )
        elif draw < 0.9:
            outcome = _Outcome("expired", escalate_to=up, escalation_due=due if up else None)
        elif draw < 0.93:
            outcome = _Outcome("cancelled", due * rng.uniform(0.1, 0.9))
        else:
            outcome = _Outcome("open", escalate_to=up, escalation_due=due * 30 if up else None)
        community = rng.choice(communities) if rng.random() < 0.97 else None
        case = f"C{n:06d}"
        writer.task(
            workflow_id=f"{process}-{district}-{_key(case)}",
            step_key=key,
            process=process,
            module=module,
            district=district,
            community=community,
            case_ref=case,
            role=role,
            title_zh=zh,
            title_en=zh,
            form=FollowUpForm,
            opened_at=opened,
            due=due,
            outcome=outcome,
        )
    writer.flush()


def generate(
    engine: Engine,
    *,
    district: str,
    elders: int,
    cases: int,
    tasks: int,
    days: list[date],
    now: datetime,
    seed: int,
) -> dict[str, int]:
    """Write the year's rows; the number of rows per table."""
    rng = random.Random(seed)
    since = _local(days[0], 0)
    with Session(engine) as session:
        communities = list(
            session.exec(
                select(Area.code).where(
                    Area.level == "community", col(Area.code).startswith(f"{district}.")
                )
            ).all()
        )
        hospitals = [
            h
            for h, _ in session.exec(
                select(Provider.id, Provider.partner)
                .where(Provider.kind == "hospital", Provider.district_code == district)
                .order_by(col(Provider.partner).desc(), col(Provider.id))
            ).all()
        ] or ["H1", "H2"]
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA cache_size = -200000")  # generation only
        writer = _Writer(connection, now)
        with Session(bind=connection) as session:
            people = _registry_rows(session, writer, rng, district, elders)
        _curtain(writer, rng, district, people, days)
        _green_channel(writer, rng, district, people, (hospitals[0], hospitals[-1]), since, cases)
        _other_tasks(writer, rng, district, communities, since, tasks)
        writer.flush()
    return writer.counts


# --- timing ------------------------------------------------------------------------------------


def _timed(repeats: int, call: Callable[[], Any]) -> list[float]:
    """Seconds of each of ``repeats`` calls (after one warm-up call, not counted)."""
    call()
    out = []
    for _ in range(repeats):
        begin = time.perf_counter()
        call()
        out.append(time.perf_counter() - begin)
    return out


async def _timed_async(repeats: int, call: Callable[[], Any]) -> list[float]:
    await call()
    out = []
    for _ in range(repeats):
        begin = time.perf_counter()
        await call()
        out.append(time.perf_counter() - begin)
    return out


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.1f} {max(values) * 1000:8.1f}"


def _periods(today: date) -> dict[str, Period]:
    start, end = default_period()
    last_month_end = today.replace(day=1) - timedelta(days=1)
    yesterday = today - timedelta(days=1)
    return {
        "default": Period.parse(start, end),
        "month": Period(last_month_end.replace(day=1), last_month_end),
        "year": Period(yesterday - timedelta(days=364), yesterday),
    }


def _section_specs(registry: PluginRegistry, district: str) -> list[FigureSpec]:
    return sections_for(registry, district)


async def _page_timings(
    engine: Engine,
    registry: PluginRegistry,
    district: str,
    periods: dict[str, Period],
    empty: Period,
    repeats: int,
) -> dict[str, list[float]]:
    app = create_app(settings=Settings(), registry=registry, engine=engine, client=None)
    transport = httpx.ASGITransport(app=app)
    out: dict[str, list[float]] = {}
    async with httpx.AsyncClient(transport=transport, base_url=BASE, timeout=120) as http:
        form = await http.get("/login")
        token = re.search(r'name="login_token" value="([^"]*)"', form.text)
        assert token, "no login token on the login page"
        answer = await http.post(
            "/login",
            data={
                "username": f"{district}-district_admin",
                "password": DEMO_PASSWORD,
                "login_token": token.group(1),
                "next": DASHBOARD_PATH,
            },
        )
        if answer.status_code != 303:
            raise SystemExit(f"login refused: {answer.status_code}")

        def getter(params: str) -> Callable[[], Any]:
            async def get() -> None:
                page = await http.get(f"{DASHBOARD_PATH}{params}")
                if page.status_code != 200:
                    raise SystemExit(f"dashboard answered {page.status_code}: {page.text[:300]}")

            return get

        for name, period in periods.items():
            params = "" if name == "default" else f"?from={period.start}&to={period.end}"
            out[name] = await _timed_async(repeats, getter(params))
        out["empty"] = await _timed_async(repeats, getter(f"?from={empty.start}&to={empty.end}"))
    return out


def _explain(engine: Engine, statement: str) -> None:
    with engine.connect() as connection:
        prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN ANALYZE "
        for row in connection.execute(text(prefix + statement)):
            print("   ", " | ".join(str(v) for v in row))


def main(args: argparse.Namespace) -> None:
    # The app needs a codec key and a pseudonym key; the bench's own, never the data dir's.
    os.environ.setdefault(
        "CAREFLOW_CODEC_KEYS", "bench:" + base64.b64encode(secrets.token_bytes(32)).decode()
    )
    os.environ.setdefault(
        "CAREFLOW_PSEUDONYM_KEY", base64.b64encode(secrets.token_bytes(32)).decode()
    )
    configure_logging(level="WARNING")  # no request log line per page in the figures
    registry = PluginRegistry.build(discover_plugins())
    district = args.district
    registry.check_district(district)
    now = datetime.now(UTC)
    today = now.astimezone(STAFF_TIMEZONE).date()
    days = [today - timedelta(days=n) for n in range(365, 0, -1)]
    periods = _periods(today)
    empty = Period(today - timedelta(days=800), today - timedelta(days=771))
    backend = "PostgreSQL" if args.database_url else "SQLite"
    with _database(args.database_url) as url:
        upgrade(url)
        engine = make_engine(url)
        try:
            with Session(engine) as session:
                seed_demo(session)
                seed_demo_accounts(session)
                session.commit()
            began = time.perf_counter()
            counts = generate(
                engine,
                district=district,
                elders=args.elders,
                cases=args.cases,
                tasks=args.tasks,
                days=days,
                now=now,
                seed=args.seed,
            )
            generated = time.perf_counter() - began
            print(
                f"generated in {generated:.1f} s ({backend}): "
                + ", ".join(f"{n:,} {t}" for t, n in sorted(counts.items())),
                flush=True,
            )
            if engine.dialect.name == "postgresql":
                # What autovacuum does on a live server after a load like this one.
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    c.exec_driver_sql("VACUUM ANALYZE")
            specs = _section_specs(registry, district)
            rows: list[tuple[str, str, list[float]]] = []
            for spec in specs:
                for name, period in periods.items():
                    query = FigureQuery(district=district, period=period)

                    def compute(spec: FigureSpec = spec, query: FigureQuery = query) -> None:
                        with Session(engine) as session:
                            spec.compute(session, query)

                    rows.append((spec.key, name, _timed(args.repeats, compute)))
                    print(f"  {spec.key:<26} {name:<8} {_ms(rows[-1][2])} ms", flush=True)

            def count_tasks() -> None:
                with engine.connect() as connection:
                    connection.execute(text("SELECT count(*) FROM task")).scalar_one()

            baseline = _timed(args.repeats, count_tasks)
            default = periods["default"]

            def count_period() -> None:
                with engine.connect() as connection:
                    connection.execute(
                        select(func.count())
                        .select_from(Task)
                        .where(
                            col(Task.district) == district,
                            col(Task.opened_at) >= default.since,
                            col(Task.opened_at) < default.until,
                        )
                    ).scalar_one()

            period_count = _timed(args.repeats, count_period)
            pages = asyncio.run(
                _page_timings(engine, registry, district, periods, empty, args.repeats)
            )
            if args.explain:
                _explain_sections(engine, district, periods["default"])
        finally:
            engine.dispose()
    when = now.strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"\n{district}: {args.elders:,} watched elders, {args.cases:,} green-channel cases, "
        f"{args.tasks:,} other tasks over {days[0]} – {days[-1]}; {backend}; "
        f"{args.repeats} repeats ({when})"
    )
    print("periods: " + "; ".join(f"{n} {p} ({len(p.days)} days)" for n, p in periods.items()))
    print(f"\n  {'section compute':<34} {'period':<8} {'median':>8} {'max':>8}  (ms)")
    for key, name, values in rows:
        print(f"  {key:<34} {name:<8} {_ms(values)}")
    for name in periods:
        total = [sum(v[i] for k, n, v in rows if n == name) for i in range(args.repeats)]
        print(f"  {'all sections':<34} {name:<8} {_ms(total)}")
    head = "dashboard page (HTTP, in process)"
    print(f"\n  {head:<34} {'period':<8} {'median':>8} {'max':>8}  (ms)")
    for name, values in pages.items():
        print(f"  {'page':<34} {name:<8} {_ms(values)}")
    print("baseline in the same run:")
    print(f"  {'SELECT count(*) FROM task':<34} {'':<8} {_ms(baseline)}")
    print(f"  {'count(*) of the period, district':<34} {'default':<8} {_ms(period_count)}")
    print(f"  {'page, period without data':<34} {'empty':<8} {_ms(pages['empty'])}")
    page = statistics.median(pages["default"])
    print(
        f"ratio page default / empty page: {page / statistics.median(pages['empty']):.1f}; "
        f"page default / count(*) of the period: {page / statistics.median(period_count):.1f}"
    )
    verdict = "meets" if max(pages["default"]) < TARGET_S else "MISSES"
    print(
        f"verdict: the default dashboard page {verdict} the {TARGET_S:.0f} s target "
        f"(median {page * 1000:.0f} ms, max {max(pages['default']) * 1000:.0f} ms; "
        f"month {statistics.median(pages['month']) * 1000:.0f} ms, "
        f"year {statistics.median(pages['year']) * 1000:.0f} ms)"
    )


def _explain_sections(engine: Engine, district: str, period: Period) -> None:
    """Plans of the two scans that dominate: the period's tasks, the period's checks."""
    since = period.since.strftime("%Y-%m-%d %H:%M:%S")
    until = period.until.strftime("%Y-%m-%d %H:%M:%S")
    print("\nEXPLAIN: the tasks section's scan")
    _explain(
        engine,
        f"SELECT community, role, count(*) FROM task WHERE district = '{district}' "
        f"AND opened_at >= '{since}' AND opened_at < '{until}' GROUP BY community, role",
    )
    print("EXPLAIN: the curtain section's checks")
    _explain(
        engine,
        f"SELECT community, count(DISTINCT case_ref) FROM task WHERE process = '{CHECK_PROCESS}' "
        f"AND district = '{district}' AND opened_at >= '{since}' AND opened_at < '{until}' "
        "AND (step_key = 'check' OR step_key LIKE 'check.%') GROUP BY community",
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elders", type=int, default=5000)
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--district",
        default="xinghualing",
        help="A district that runs the curtain appointment and the green channel.",
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--explain", action="store_true", help="Print the plans of the main scans.")
    parser.add_argument(
        "--database-url",
        default=None,
        help="A PostgreSQL server URL (postgresql+psycopg://postgres@127.0.0.1:5432/test): the "
        "bench creates and drops a database of its own there. Default: SQLite.",
    )
    main(parser.parse_args())
