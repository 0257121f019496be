"""Readings for ids the registry does not hold as elders are refused before anything starts."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from careflow import service
from careflow.db.tables import Person
from careflow.errors import InputError
from careflow.registry import PluginRegistry
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.health.tables import HealthReading
from plugins.engine import plugin as engine_plugin
from tests.support.programmes import switched_on


def _person(engine: Engine, kind: str, district: str) -> str:
    with Session(engine) as session:
        found = session.exec(
            select(Person)
            .where(Person.kind == kind)
            .where(col(Person.community_code).startswith(f"{district}."))
            .order_by(col(Person.id))
        ).first()
        assert found is not None
        return found.id


@pytest.mark.parametrize(
    ("who", "problem"),
    [
        (lambda engine: "P99999", "unknown person"),
        (lambda engine: _person(engine, "child", "wanbailin"), "not elder"),
        (lambda engine: _person(engine, "elder", "yingze"), "not in district"),
    ],
)
def test_a_reading_for_no_elder_of_the_district_is_refused(
    seeded_engine: Engine, who: object, problem: str
) -> None:
    registry = PluginRegistry.build(
        [engine_plugin, eldercare_plugin, switched_on("wanbailin", "eldercare.health_monitor")]
    )
    case_ref = who(seeded_engine)  # type: ignore[operator]
    data = {
        "district": "wanbailin",
        "case_ref": case_ref,
        "device_id": "HS-0007",
        "measured_at": "2026-12-01T08:00:00+08:00",
        "systolic": 150,
        "diastolic": 90,
    }
    with pytest.raises(InputError) as refused:
        service.prepare_event(
            registry, event_type="eldercare.reading", data=data, engine=seeded_engine
        )
    assert refused.value.field == "data.case_ref"
    assert problem in refused.value.problem
    with Session(seeded_engine) as session:
        assert session.exec(select(HealthReading)).first() is None
    # The same reading for an elder of the district is accepted.
    elder = _person(seeded_engine, "elder", "wanbailin")
    service.prepare_event(
        registry,
        event_type="eldercare.reading",
        data={**data, "case_ref": elder},
        engine=seeded_engine,
    )
