"""Cases written straight into the app database, as closed processes left them years ago.

A retention test cannot wait years, so it writes a case's rows with old times and, for a case
the ledger saw close back then, a ledger row with that close time. Their workflow ids never
ran on the test server, which is what Temporal says of a case whose history its namespace
retention deleted long ago: not found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, String, Text, TypeDecorator, func, or_, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col

from careflow.db.engine import session_scope
from careflow.db.tables import CaseRecord, Notification, Person, Task
from plugins.childcare.microwish.tables import CwCampaign, CwWish
from plugins.childcare.places.tables import PlacesApplication
from plugins.eldercare.health.tables import HealthReading
from plugins.privacy.models import RETENTION_PROCESS
from plugins.privacy.tables import RetentionCase

__all__ = [
    "DISTRICT",
    "LONG_AGO",
    "Case",
    "canary_hits",
    "child",
    "elder",
    "ledger",
    "seed_case",
    "snapshot",
]

DISTRICT = "wanbailin"
NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(days=4 * 365)
_PROCESS = {
    "health": "eldercare.health_monitor",
    "places": "childcare.places",
    "microwish": "childcare.microwish",
    "curtain": "eldercare.curtain_check",
}


@dataclass(frozen=True)
class Case:
    """A seeded case: its workflow id, the person it is about, and its purpose."""

    workflow_id: str
    person: str
    purpose: str
    community: str


def _person(engine: Engine, kind: str, nth: int) -> Person:
    with Session(engine) as session:
        people = session.execute(
            select(Person)
            .where(
                col(Person.kind) == kind,
                col(Person.community_code).startswith(f"{DISTRICT}."),
            )
            .order_by(col(Person.id))
        ).scalars()
        return list(people)[nth]


def elder(engine: Engine, nth: int = 0) -> Person:
    """The ``nth`` elder of the district in the demo registry."""
    return _person(engine, "elder", nth)


def child(engine: Engine, nth: int = 0) -> Person:
    """The ``nth`` child of the district in the demo registry."""
    return _person(engine, "child", nth)


def seed_case(
    engine: Engine,
    *,
    purpose: str,
    person: Person,
    ref: str,
    at: datetime = LONG_AGO,
    reports_dir: Path | None = None,
) -> Case:
    """Write a closed case's rows: a done task with answers, records, a notification, and
    its module's rows (readings, an application, a campaign's wishes and report files)."""
    process = _PROCESS[purpose]
    workflow_id = f"{process}-{DISTRICT}-{ref}"
    community = person.community_code
    with session_scope(engine) as session:
        session.add(
            Task(
                task_id=f"T{abs(hash(workflow_id)) % 10**12:012d}",
                workflow_id=workflow_id,
                step_key="visit",
                process=process,
                module=process.split(".")[0] if "." in process else "shared",
                district=DISTRICT,
                community=community,
                case_ref=person.id,
                role="grid_worker",
                title_zh="走访",
                title_en="Visit",
                form_ref="tests:Form",
                status="done",
                due_at=at,
                opened_at=at,
                closed_at=at,
                completed_by="S0005",
                completed_role="grid_worker",
                result={"note": f"{person.name} 电话 {person.phone}", "found": "at_home"},
            )
        )
        for key, kind, data in (
            ("opened", "case_opened", {"elder_ref": person.id, "tier": "red", "count": 3}),
            ("closed", "case_closed", {"by": "S0005", "note": person.name, "outcome": "done"}),
        ):
            session.add(
                CaseRecord(
                    workflow_id=workflow_id,
                    step_key=key,
                    process=process,
                    district=DISTRICT,
                    case_ref=person.id,
                    kind=kind,
                    data=data,
                    created_at=at,
                )
            )
        session.add(
            Notification(
                workflow_id=workflow_id,
                step_key="told",
                district=DISTRICT,
                community=community,
                recipient_ref=person.id,
                template="case_closed",
                body_zh=f"{person.name}，您的事项已办结。",
                params={"person_ref": person.id, "count": 1},
                status="sent",
                created_at=at,
                sent_at=at,
            )
        )
        if purpose == "health":
            for n in range(2):
                session.add(
                    HealthReading(
                        workflow_id=workflow_id,
                        step_key=f"reading.{n}",
                        elder_ref=person.id,
                        district=DISTRICT,
                        device_id="station-1",
                        measured_at=at,
                        systolic=150 + n,
                        created_at=at,
                    )
                )
        if purpose == "places":
            session.add(
                PlacesApplication(
                    workflow_id=workflow_id,
                    child_id=person.id,
                    district=DISTRICT,
                    status="enrolled",
                    queued_at=at,
                )
            )
        if purpose == "microwish":
            session.add(
                CwCampaign(campaign_id=workflow_id, district=DISTRICT, case_ref=ref, opened_at=at)
            )
            session.add(
                CwWish(
                    campaign_id=workflow_id,
                    seq=1,
                    child_ref=person.id,
                    household_ref="H00001",
                    community=community,
                    gender=person.gender,
                    age=8,
                    status="delivered",
                    category="school_bag",
                    description_zh=f"{person.name}想要一个书包",
                    visited_by="S0005",
                )
            )
    if purpose == "microwish" and reports_dir is not None:
        reports_dir.mkdir(parents=True, exist_ok=True)
        for n in (1, 2):
            (reports_dir / f"{workflow_id}.wishlist.r{n}.csv").write_text("wish_id\n1\n")
        # Another campaign whose id starts with this one's: its list is not this case's.
        (reports_dir / f"{workflow_id}.x.wishlist.r1.csv").write_text("wish_id\n2\n")
    return Case(workflow_id=workflow_id, person=person.id, purpose=purpose, community=community)


def ledger(engine: Engine, case: Case, *, closed_at: datetime = LONG_AGO) -> None:
    """The ledger row of a case a run saw close at ``closed_at``."""
    with session_scope(engine) as session:
        session.add(
            RetentionCase(
                workflow_id=case.workflow_id,
                district=DISTRICT,
                purpose=case.purpose,
                discovered_at=closed_at,
                checked_at=closed_at,
                closed_at=closed_at,
                closed_how="completed",
            )
        )


_TABLES = (
    "task",
    "case_record",
    "notification",
    "ec_health_reading",
    "cc_places_application",
    "cw_campaign",
    "cw_wish",
    "privacy_retention_case",
)


def snapshot(engine: Engine, folder: Path | None = None) -> dict[str, Any]:
    """Every row of the tables retention touches, and the report files: to compare.

    The retention runs' own rows (their case records) are left out.
    """
    found: dict[str, Any] = {}
    with Session(engine) as session:
        for name in _TABLES:
            table = SQLModel.metadata.tables[name]
            rows = [tuple(str(v) for v in row) for row in session.execute(select(table)).all()]
            found[name] = sorted(r for r in rows if f"{RETENTION_PROCESS}-" not in "".join(r))
    if folder is not None and folder.is_dir():
        found["files"] = sorted(p.name for p in folder.iterdir())
    return found


def _texty(column: Any) -> bool:
    kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    return isinstance(kind, String | JSON)


def canary_hits(engine: Engine, *needles: str) -> dict[str, int]:
    """Rows (per table) that still hold any of ``needles`` in any text or JSON column."""
    hits: dict[str, int] = {}
    with Session(engine) as session:
        for name in _TABLES:
            table = SQLModel.metadata.tables[name]
            conditions = [
                c.cast(Text()).contains(needle)
                for c in table.columns
                if _texty(c)
                for needle in needles
            ]
            assert conditions, name
            query = select(func.count()).select_from(table).where(or_(*conditions))
            count = session.execute(query).scalar_one()
            if count:
                hits[name] = int(count)
    return hits
