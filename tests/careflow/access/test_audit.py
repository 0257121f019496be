"""The audit trail is append-only on every backend, and readers see only their areas."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from careflow.access import Attempt, Grant, Principal, record
from careflow.access.audit import list_audit


def _reader(*grants: tuple[str, str]) -> Principal:
    return Principal(
        staff_id="A1", name="审计", kind="person", grants=tuple(Grant(r, a) for r, a in grants)
    )


def test_audit_rows_cannot_be_updated_or_deleted(any_engine: Engine) -> None:
    attempt = Attempt(principal=None, channel="cli", request_id="r1", claimed="someone")
    record(any_engine, attempt, action="auth.login", outcome="refused", reason="bad_password")
    for statement in ("UPDATE audit_entry SET outcome = 'accepted'", "DELETE FROM audit_entry"):
        with pytest.raises(DBAPIError, match="append-only"), any_engine.begin() as connection:
            connection.execute(text(statement))
    with Session(any_engine) as session:
        rows = list_audit(session, viewer=None)
    assert [(r.actor, r.outcome) for r in rows] == [("someone", "refused")]


def test_readers_see_the_rows_of_the_areas_their_grants_cover(engine: Engine) -> None:
    def row(district: str, community: str | None) -> None:
        record(
            engine,
            Attempt(principal=None, channel="api", request_id="r", claimed=f"{community}"),
            action="task.complete",
            outcome="refused",
            district=district,
            community=community,
        )

    row("wanbailin", "wanbailin.wanghua.jiusi")
    row("wanbailin", "wanbailin.yuyuan.north")
    row("yingze", "yingze.liuxiang.a")
    with Session(engine) as session:
        district = list_audit(session, viewer=_reader(("auditor", "wanbailin")))
        street = list_audit(session, viewer=_reader(("auditor", "wanbailin.wanghua")))
        city = list_audit(session, viewer=_reader(("auditor", "taiyuan")))
        grid = list_audit(session, viewer=_reader(("grid_worker", "wanbailin")))
    assert sorted(r.community or "" for r in district) == [
        "wanbailin.wanghua.jiusi",
        "wanbailin.yuyuan.north",
    ]
    assert [r.community for r in street] == ["wanbailin.wanghua.jiusi"]
    assert len(city) == 3
    assert grid == []
