"""The demo seed is deterministic, plausible, invented and safe to run at every start."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import SQLModel, select

from careflow.areas import DISTRICTS
from careflow.db import (
    Area,
    Guardian,
    Pairing,
    Person,
    Provider,
    Staff,
    Volunteer,
    crud,
    make_engine,
    seed_demo,
    session_scope,
    upgrade,
)
from careflow.db.seed import REFERENCE_DATE
from plugins.engine.roles import Role

SEEDED_DISTRICTS = {"wanbailin", "yingze", "xinghualing", "xiaodian"}


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every registry row, ordered, as plain tuples."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            result = connection.execute(table.select())
            rows[table.name] = sorted(tuple(row) for row in result)
    return rows


def seeded(url: str, seed: int) -> dict[str, list[tuple[Any, ...]]]:
    upgrade(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            summary = seed_demo(session, seed=seed)
        assert not summary.skipped
        return dump(engine)
    finally:
        engine.dispose()


def test_same_seed_gives_identical_rows(tmp_path: Any) -> None:
    first = seeded(f"sqlite:///{tmp_path / 'a.db'}", 7)
    second = seeded(f"sqlite:///{tmp_path / 'b.db'}", 7)
    other = seeded(f"sqlite:///{tmp_path / 'c.db'}", 8)

    assert first == second
    assert first["person"] != other["person"]


def test_counts_are_in_range_and_seed_refuses_a_filled_registry(any_engine: Engine) -> None:
    with session_scope(any_engine) as session:
        summary = seed_demo(session)
    with session_scope(any_engine) as session:
        again = seed_demo(session)

    assert not summary.skipped
    assert again.skipped and again.counts == {}
    assert "not empty" in again.describe()
    with session_scope(any_engine) as session:
        kinds = Counter(p.kind for p in session.exec(select(Person)))
        volunteers = len(session.exec(select(Volunteer)).all())
    assert 300 <= kinds["elder"] <= 400
    assert 120 <= kinds["child"] <= 180
    assert 50 <= volunteers <= 70
    assert summary.counts["donor"] == 40
    assert summary.counts["person"] == sum(kinds.values())
    with any_engine.connect() as connection:
        assert connection.execute(text("select count(*) from person")).scalar_one() == sum(
            kinds.values()
        )


def test_areas_nest_district_street_community(engine: Engine) -> None:
    with session_scope(engine) as session:
        seed_demo(session)
        areas = {a.code: a for a in session.exec(select(Area))}

    districts = {c for c, a in areas.items() if a.level == "district"}
    assert districts == set(DISTRICTS)
    streets = [a for a in areas.values() if a.level == "street"]
    communities = [a for a in areas.values() if a.level == "community"]
    assert {s.parent_code for s in streets} == SEEDED_DISTRICTS
    for district in SEEDED_DISTRICTS:
        own = [s for s in streets if s.parent_code == district]
        assert 2 <= len(own) <= 3
        for street in own:
            assert 2 <= sum(c.parent_code == street.code for c in communities) <= 3
    names = {a.name_zh for a in areas.values()}
    assert {"王化街道", "九四社区", "唐槐街道", "梧桐社区", "并州东街社区", "青年路二社区"} <= names


def test_people_are_plausible_and_invented(engine: Engine) -> None:
    with session_scope(engine) as session:
        seed_demo(session)
        people = session.exec(select(Person)).all()
        guardians = session.exec(select(Guardian)).all()
        pairings = session.exec(select(Pairing)).all()
        volunteers = {v.id: v for v in session.exec(select(Volunteer))}

    def age(person: Person) -> int:
        return (REFERENCE_DATE - person.birth_date).days // 365

    elders = [p for p in people if p.kind == "elder"]
    children = [p for p in people if p.kind == "child"]
    assert all(60 <= age(p) <= 98 for p in elders)
    assert all(0 <= age(p) <= 14 for p in children)
    assert any(p.lives_alone for p in elders) and any(p.home_bound for p in elders)
    assert {p.disability_level for p in elders} == {0, 1, 2, 3, 4}
    assert sum(p.low_income for p in children) >= len(children) // 3
    assert all(re.fullmatch(r"000000\d{12}", p.id_number) for p in people)
    assert all(re.fullmatch(r"139\d{8}", p.phone) for p in people if p.phone)

    pickup = {g.child_id for g in guardians if g.authorised_pickup}
    assert pickup == {c.id for c in children}

    curtain = {p.elder_id: p for p in pairings if p.kind == "curtain"}
    by_id = {p.id: p for p in people}
    assert set(curtain) == {p.id for p in elders if p.lives_alone}
    for elder_id, pairing in curtain.items():
        assert volunteers[pairing.volunteer_id].community_code == by_id[elder_id].community_code
    assert any(p.kind == "one_to_one" for p in pairings)


def test_providers_and_staff_cover_every_seeded_district(engine: Engine) -> None:
    with session_scope(engine) as session:
        seed_demo(session)
        providers = session.exec(select(Provider)).all()
        staff = session.exec(select(Staff)).all()
        communities = session.exec(select(Area).where(Area.level == "community")).all()

    for district in SEEDED_DISTRICTS:
        hospitals = [p for p in providers if p.district_code == district and p.kind == "hospital"]
        assert sorted(p.partner for p in hospitals) == [False, True]
        kinds = {p.kind for p in providers if p.district_code == district}
        assert kinds == {"hospital", "health_centre", "dining_table", "childcare"}
        roles = {s.role for s in staff if s.district_code == district}
        assert {Role.CHARITY_OFFICER, Role.DISTRICT_ADMIN, Role.DOCTOR} <= roles
    assert all(p.capacity for p in providers if p.kind in ("childcare", "dining_table"))
    for community in communities:
        roles = {s.role for s in staff if s.community_code == community.code}
        assert roles == {Role.GRID_WORKER, Role.COMMUNITY_STAFF}


def test_family_doctors_are_the_street_doctors_and_every_disabled_elder_is_signed(
    engine: Engine,
) -> None:
    with session_scope(engine) as session:
        seed_demo(session)
        elders = session.exec(select(Person).where(Person.kind == "elder")).all()
        doctors = {s.id: s for s in session.exec(select(Staff).where(Staff.role == "doctor"))}
        signed = {e.id: crud.family_doctor_of(session, person_id=e.id) for e in elders}

    for elder in elders:
        doctor = signed[elder.id]
        if elder.disability_level > 0:
            assert doctor is not None, elder.id
        if doctor is not None:
            assert doctors[doctor].district_code == elder.community_code.split(".")[0]
    rate = sum(d is not None for d in signed.values()) / len(elders)
    assert 0.7 <= rate <= 0.9
    # Each street's health centre has its own doctor, so one district has several.
    assert len({signed[e.id] for e in elders if e.community_code.startswith("wanbailin.")}) >= 2
