"""What a sender sees when the micro-wish campaign refuses a start or a pledge event.

Each refusal exits 2 with one stderr line naming the field, before Temporal is contacted
(nothing listens on the configured port) and with nothing written to the campaign's tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from careflow.db.engine import make_engine
from careflow.db.tables import Person
from careflow.models import process_workflow_id
from cli import app
from plugins.childcare.microwish.tables import CwCampaign, CwPledge, CwPool, CwWish
from tests.cli.helpers import assert_bad_input, free_port

DISTRICT = "wanbailin"
JIUSI = "wanbailin.wanghua.jiusi"
XIAODIAN = "xiaodian.qinxian.qinxian"
CASE = "MWCLI1"
CAMPAIGN = process_workflow_id("childcare.microwish", DISTRICT, CASE)
BAG = {
    "pledge_ref": "PL-1",
    "donor_ref": "D0001",
    "category": "school_bag",
    "quantity": 1,
    "dropoff": JIUSI,
}


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """An isolated CLI environment with the demo registry; no Temporal listening."""
    data_dir = tmp_path / "data"
    url = f"sqlite:///{(data_dir / 'careflow.db').as_posix()}"
    monkeypatch.setenv("CAREFLOW_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CAREFLOW_DATABASE_URL", url)
    monkeypatch.setenv("CAREFLOW_TEMPORAL_ADDRESS", f"127.0.0.1:{free_port()}")
    for name in ("CAREFLOW_PLUGIN_CONFIG", "CAREFLOW_TEMPORAL_NAMESPACE", "CAREFLOW_TASK_QUEUE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(app, ["seed-demo"]).exit_code == 0
    eng = make_engine(url)
    yield eng
    eng.dispose()


def _campaign(
    engine: Engine,
    *,
    published: bool = True,
    matched: bool = False,
    wishes: tuple[tuple[str, str | None], ...] = (("school_bag", None),),
    pledges: tuple[tuple[str, str], ...] = (),
) -> None:
    """A campaign row as the process leaves it: published wishes in the pool, pledges stored."""
    now = datetime.now(UTC)
    with Session(engine) as session:
        session.add(
            CwCampaign(
                campaign_id=CAMPAIGN,
                district=DISTRICT,
                case_ref=CASE,
                communities=[JIUSI],
                published_at=now if published else None,
                matched_at=now if matched else None,
            )
        )
        for seq, (category, size) in enumerate(wishes, start=1):
            wish = CwWish(
                campaign_id=CAMPAIGN,
                seq=seq,
                child_ref=f"P9{seq:04d}",
                community=JIUSI,
                gender="F",
                age=9,
                status="approved",
                category=category,
                size=size,
            )
            session.add(wish)
            session.flush()
            if published:
                session.add(
                    CwPool(
                        campaign_id=CAMPAIGN,
                        wish_id=wish.id or 0,
                        district=DISTRICT,
                        community=JIUSI,
                        age_band="6-11",
                        gender="*",
                        category=category,
                        size=size,
                    )
                )
        for ref, status in pledges:
            session.add(
                CwPledge(
                    campaign_id=CAMPAIGN,
                    pledge_ref=ref,
                    donor_ref="D0001",
                    kind="goods",
                    category="school_bag",
                    quantity=1,
                    dropoff=JIUSI,
                    status=status,
                )
            )
        session.commit()


def _pledges(engine: Engine) -> dict[str, str]:
    with Session(engine) as session:
        return {p.pledge_ref: p.status for p in session.exec(select(CwPledge)).all()}


def _event(event_type: str, data: dict[str, Any]) -> str:
    payload = {"district": DISTRICT, "case_ref": CASE, **data}
    result = CliRunner().invoke(
        app, ["event", event_type, "--data", "-"], input=json.dumps(payload)
    )
    return assert_bad_input(result)


def _start(request: dict[str, Any]) -> str:
    result = CliRunner().invoke(
        app,
        ["start", "childcare.microwish", "--district", DISTRICT, "--input", "-"],
        input=json.dumps(request),
    )
    return assert_bad_input(result)


def _ids(engine: Engine, kind: str, prefix: str) -> str:
    with Session(engine) as session:
        found = session.exec(
            select(Person.id)
            .where(Person.kind == kind, Person.community_code.startswith(prefix))  # type: ignore[attr-defined]
            .order_by(Person.id)  # type: ignore[arg-type]
        ).first()
    assert found is not None
    return found


# --- starts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("communities", "field"),
    [
        ([JIUSI, XIAODIAN], "input.communities.1"),  # another district's community
        (["wanbailin.wanghua.nowhere"], "input.communities.0"),  # unknown
        ([JIUSI, JIUSI], "input.communities.1"),  # listed twice
        ([f"{JIUSI}/x"], "input.communities.0"),  # not a code
    ],
)
def test_start_refuses_communities_outside_the_district(
    engine: Engine, communities: list[str], field: str
) -> None:
    line = _start({"communities": communities})
    assert field in line
    with Session(engine) as session:
        assert session.exec(select(CwCampaign)).all() == []


def test_start_refuses_added_children_who_are_unknown_or_not_children(engine: Engine) -> None:
    elder = _ids(engine, "elder", "wanbailin.")
    child_elsewhere = _ids(engine, "child", "xiaodian.")
    child = _ids(engine, "child", "wanbailin.")
    assert "input.extra_children.1" in _start({"extra_children": [child, "P99999"]})
    line = _start({"extra_children": [child, elder]})
    assert "input.extra_children.1" in line and "not child" in line
    assert "input.extra_children.0" in _start({"extra_children": [child_elsewhere]})
    assert "input.extra_children.1" in _start({"extra_children": [child, child]})
    assert "input.colour" in _start({"colour": "red"})
    with Session(engine) as session:
        assert session.exec(select(CwCampaign)).all() == []


# --- pledges -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"donor_ref": "D9999"}, "data.donor_ref"),  # no such donor
        ({"donor_ref": "P00001"}, "data.donor_ref"),  # a person, not a donor
        ({"dropoff": XIAODIAN}, "data.dropoff"),  # a community of another district
        ({"dropoff": "wanbailin.nowhere"}, "data.dropoff"),
        ({"quantity": 1000}, "data.quantity"),  # over the per-pledge maximum (50)
        ({"quantity": 2}, "data.quantity"),  # over the campaign's one open school-bag wish
        ({"quantity": "1"}, "data.quantity"),  # no coercion from text
        ({"category": "shoes", "size": "32"}, "data.quantity"),  # no open wish for shoes
        ({"colour": "blue"}, "data.colour"),  # unknown field
    ],
)
def test_pledge_the_registry_or_the_campaign_does_not_support_is_refused(
    engine: Engine, change: dict[str, Any], field: str
) -> None:
    _campaign(engine)
    assert field in _event("childcare.pledge", {**BAG, **change})
    assert _pledges(engine) == {}


def test_pledge_before_publication_is_refused(engine: Engine) -> None:
    _campaign(engine, published=False)
    line = _event("childcare.pledge", BAG)
    assert "data.case_ref" in line and "not published" in line
    assert _pledges(engine) == {}


def test_pledge_after_matching_and_for_no_campaign_is_refused(engine: Engine) -> None:
    line = _event("childcare.pledge", BAG)
    assert "data.case_ref" in line and "no micro-wish campaign" in line
    _campaign(engine, matched=True)
    assert "matching is done" in _event("childcare.pledge", BAG)
    assert _pledges(engine) == {}


def test_reused_pledge_ref_for_a_different_pledge_is_refused(engine: Engine) -> None:
    _campaign(
        engine, wishes=(("school_bag", None), ("school_bag", None)), pledges=(("PL-1", "active"),)
    )
    line = _event("childcare.pledge", {**BAG, "dropoff": "wanbailin.wanghua.wanghua_north"})
    assert "data.pledge_ref" in line and "different pledge" in line
    assert _pledges(engine) == {"PL-1": "active"}


@pytest.mark.parametrize(
    ("matched", "pledges", "text"),
    [
        (False, (), "no pledge 'PL-1'"),  # unknown pledge
        (False, (("PL-1", "withdrawn"),), "is withdrawn"),  # already withdrawn
        (True, (("PL-1", "active"),), "no longer be withdrawn"),  # after matching
    ],
)
def test_withdrawal_that_would_be_refused_is_refused_at_once(
    engine: Engine, matched: bool, pledges: tuple[tuple[str, str], ...], text: str
) -> None:
    _campaign(engine, matched=matched, pledges=pledges)
    before = _pledges(engine)
    line = _event("childcare.pledge_withdrawn", {"pledge_ref": "PL-1"})
    assert "data.pledge_ref" in line and text in line
    assert _pledges(engine) == before
