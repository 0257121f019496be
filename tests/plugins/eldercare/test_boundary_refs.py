"""Eldercare starts and events naming ids the registry does not hold are refused at once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from careflow import service
from careflow.db.tables import Person
from careflow.errors import InputError
from careflow.registry import PluginRegistry
from plugins.eldercare import plugin as eldercare_plugin
from plugins.engine import plugin as engine_plugin

DISTRICT = "wanbailin"


@pytest.fixture
def eldercare() -> PluginRegistry:
    return PluginRegistry.build([engine_plugin, eldercare_plugin])


def _first(engine: Engine, kind: str) -> str:
    with Session(engine) as session:
        found = session.exec(
            select(Person.id)
            .where(Person.kind == kind)
            .where(col(Person.community_code).startswith(f"{DISTRICT}."))
            .order_by(col(Person.id))
        ).first()
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("process", "request_", "field"),
    [
        ("eldercare.pension", {"communities": ["xiaodian.x.y"]}, "input.communities.0"),
        ("eldercare.festival", {"communities": ["nowhere"]}, "input.communities.0"),
        ("eldercare.festival", {"items": [{"category": "gift", "quantity": "2"}]}, ""),
        ("eldercare.pension_visit", {"elder_ref": "P99999", "year": 2026}, "input.elder_ref"),
        ("eldercare.pension_visit", {"elder_ref": "child", "year": 2026}, "input.elder_ref"),
        ("eldercare.curtain_round", {"day": "2026-12-01", "extra": 1}, "input.extra"),
    ],
)
def test_a_start_naming_what_the_registry_does_not_hold_is_refused(
    seeded_engine: Engine,
    eldercare: PluginRegistry,
    process: str,
    request_: dict[str, Any],
    field: str,
) -> None:
    if request_.get("elder_ref") == "child":
        request_ = {**request_, "elder_ref": _first(seeded_engine, "child")}
    with pytest.raises(InputError) as refused:
        service.prepare_start(
            eldercare,
            process=process,
            district=DISTRICT,
            request=request_,
            started_by="staff:S0001",
            engine=seeded_engine,
        )
    assert refused.value.field == (field or "input.items.0.quantity")


def test_an_away_notice_for_an_unknown_elder_is_refused(
    seeded_engine: Engine, eldercare: PluginRegistry
) -> None:
    notice = {
        "district": DISTRICT,
        "case_ref": "AW1",
        "elder_ref": "P99999",
        "away_from": "2026-12-01",
        "away_until": "2026-12-03",
    }
    with pytest.raises(InputError) as refused:
        service.prepare_event(
            eldercare, event_type="eldercare.curtain_away", data=notice, engine=seeded_engine
        )
    assert refused.value.field == "data.elder_ref"
