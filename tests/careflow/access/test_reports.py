"""Who reads which district's report: checked, audited, nothing computed on a refusal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from careflow.access import Attempt, Grant, Principal
from careflow.access.actions import district_report, report_districts
from careflow.access.refusals import Refused
from careflow.contract import CarePlugin
from careflow.db.tables import AuditEntry, Task
from careflow.figures import Column, FigureQuery, FigureSpec, Section, Table
from careflow.registry import PluginRegistry
from plugins.engine import plugin as engine_plugin


def _open_tasks(session: Session, query: FigureQuery) -> Section:
    """Open tasks per community of the query (a small section of this test's own)."""
    counts: dict[str, int] = {}
    for task in session.exec(select(Task).where(Task.district == query.district)).all():
        if (
            query.covers(task.community)
            and query.period.since <= task.opened_at < query.period.until
        ):
            counts[task.community or "-"] = counts.get(task.community or "-", 0) + 1
    return Section(
        key="test.open",
        title_zh="测试",
        tables=(
            Table(
                key="open",
                title_zh="工单",
                columns=(
                    Column("community", "社区", kind="text"),
                    Column("n", "人数", kind="people"),
                ),
                rows=sorted(counts.items()),
            ),
        ),
    )


REGISTRY = PluginRegistry.build(
    [
        engine_plugin,
        CarePlugin(
            name="test_figures",
            version="0",
            title_zh="测试",
            title_en="test",
            figures=(
                FigureSpec(key="test.open", title_zh="测试", title_en="t", compute=_open_tasks),
            ),
        ),
    ]
)


def _ours(figures: Any) -> Section:
    """This test's own section (the engine plugin brings its tasks section too)."""
    (section,) = [s for s in figures.sections if s.key == "test.open"]
    return section


def _who(*grants: tuple[str, str]) -> Attempt:
    principal = Principal(
        staff_id="S9", name="督导", kind="person", grants=tuple(Grant(r, a) for r, a in grants)
    )
    return Attempt(principal=principal, channel="cli", request_id="r-report")


def _task(n: int, community: str, day: int) -> Task:
    return Task(
        task_id=f"t{n}",
        workflow_id=f"w{n}",
        step_key="s",
        process="p",
        module="m",
        district="wanbailin",
        community=community,
        case_ref="c",
        role="grid_worker",
        title_zh="t",
        title_en="t",
        form_ref="f",
        due_at=datetime(2026, 3, day, 12, tzinfo=UTC),
        opened_at=datetime(2026, 3, day, 2, tzinfo=UTC),
    )


@pytest.fixture
def tasks(seeded_engine: Engine) -> Engine:
    with Session(seeded_engine) as session:
        for n in range(4):
            session.add(_task(n, "wanbailin.wanghua.jiusi", 2))
        session.add(_task(9, "wanbailin.xinghua.xinghua", 2))
        session.add(_task(10, "wanbailin.xinghua.xinghua", 9))  # after the period
        session.commit()
    return seeded_engine


def _audit(engine: Engine) -> list[tuple[str, str, str | None, str | None]]:
    with Session(engine) as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.request_id == "r-report")).all()
    return [(r.action, r.outcome, r.reason, r.target) for r in rows]


def test_a_district_admin_reads_the_whole_district_and_it_is_audited(tasks: Engine) -> None:
    figures = district_report(
        tasks,
        REGISTRY,
        _who(("district_admin", "wanbailin")),
        district="wanbailin",
        start="2026-03-01",
        end="2026-03-07",
    )
    section = _ours(figures)
    assert list(section.tables[0].rows) == [
        ("wanbailin.wanghua.jiusi", 4),
        ("wanbailin.xinghua.xinghua", "<3"),
    ]
    assert _audit(tasks) == [
        ("report.view", "accepted", None, "wanbailin:2026-03-01..2026-03-07:html")
    ]


def test_a_street_grant_sees_its_communities_only(tasks: Engine) -> None:
    figures = district_report(
        tasks,
        REGISTRY,
        _who(("auditor", "wanbailin.wanghua")),
        district="wanbailin",
        start="2026-03-01",
        end="2026-03-07",
        format="xlsx",
    )
    assert list(_ours(figures).tables[0].rows) == [("wanbailin.wanghua.jiusi", 4)]
    assert figures.communities and all(
        c.startswith("wanbailin.wanghua.") for c in figures.communities
    )
    assert _audit(tasks)[0][:2] == ("report.export", "accepted")


@pytest.mark.parametrize(
    ("grants", "kwargs", "reason", "field"),
    [
        ((("district_admin", "yingze"),), {}, "out_of_scope", "district"),
        ((("grid_worker", "wanbailin"),), {}, "wrong_role", None),
        ((("district_admin", "wanbailin"),), {"start": "2026-03-08"}, "bad_input", "to"),
        ((("district_admin", "wanbailin"),), {"start": "yesterday"}, "bad_input", "from"),
        ((("district_admin", "wanbailin"),), {"format": "pdf"}, "bad_input", "format"),
        ((("district_admin", "taiyuan"),), {"district": "nowhere"}, "bad_input", "district"),
    ],
)
def test_refusals_name_the_field_and_leave_an_audit_row(
    tasks: Engine,
    grants: tuple[tuple[str, str], ...],
    kwargs: dict[str, str],
    reason: str,
    field: str | None,
) -> None:
    args = {"district": "wanbailin", "start": "2026-03-01", "end": "2026-03-07", **kwargs}
    with pytest.raises(Refused) as refused:
        district_report(tasks, REGISTRY, _who(*grants), **args)
    assert (refused.value.reason, refused.value.field) == (reason, field)
    ((action, outcome, audited_reason, _),) = _audit(tasks)
    assert (outcome, audited_reason) == ("refused", reason) and action.startswith("report.")


def test_report_districts_follow_the_grants() -> None:
    city = _who(("auditor", "taiyuan")).principal
    street = _who(("district_admin", "wanbailin.wanghua"), ("grid_worker", "yingze")).principal
    assert city is not None and street is not None
    assert report_districts(city, REGISTRY) == [
        "xiaodian",
        "yingze",
        "xinghualing",
        "jiancaoping",
        "wanbailin",
        "jinyuan",
    ]
    assert report_districts(street, REGISTRY) == ["wanbailin"]
