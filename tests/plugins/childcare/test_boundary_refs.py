"""Childcare starts and events naming ids the registry does not hold are refused at once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from careflow import service
from careflow.db.tables import Person, Provider
from careflow.errors import InputError
from careflow.registry import PluginRegistry
from plugins.childcare import plugin as childcare_plugin
from plugins.engine import plugin as engine_plugin

DISTRICT = "yingze"


def _child(engine: Engine) -> str:
    with Session(engine) as session:
        found = session.exec(
            select(Person.id)
            .where(Person.kind == "child")
            .where(col(Person.community_code).startswith(f"{DISTRICT}."))
            .order_by(col(Person.id))
        ).first()
    assert found is not None
    return found


def _foreign_provider(engine: Engine) -> str:
    with Session(engine) as session:
        found = session.exec(
            select(Provider.id).where(Provider.district_code != DISTRICT).order_by(col(Provider.id))
        ).first()
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("event_type", "change", "field"),
    [
        ("childcare.places_apply", {"child_ref": "P99999"}, "data.child_ref"),
        (
            "childcare.places_apply",
            {"preferred_providers": ["foreign"]},
            "data.preferred_providers.0",
        ),
        ("childcare.places_apply", {"nickname": "小明"}, "data.nickname"),
        ("childcare.dining_enrol", {"provider_ref": "PV99999"}, "data.provider_ref"),
    ],
)
def test_an_event_naming_what_the_registry_does_not_hold_is_refused(
    seeded_engine: Engine, event_type: str, change: dict[str, Any], field: str
) -> None:
    registry = PluginRegistry.build([engine_plugin, childcare_plugin])
    child = _child(seeded_engine)
    if event_type == "childcare.places_apply":
        data: dict[str, Any] = {"district": DISTRICT, "case_ref": "APP1", "child_ref": child}
    else:
        data = {
            "district": DISTRICT,
            "child_ref": child,
            "provider_ref": "PV001",
            "actor": "S0001",
        }
    if change.get("preferred_providers") == ["foreign"]:
        change = {"preferred_providers": [_foreign_provider(seeded_engine)]}
    with pytest.raises(InputError) as refused:
        service.prepare_event(
            registry, event_type=event_type, data={**data, **change}, engine=seeded_engine
        )
    assert refused.value.field == field
