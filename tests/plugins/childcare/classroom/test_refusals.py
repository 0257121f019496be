"""Desk hand-overs the registry shows would be refused are refused before they are sent."""

from __future__ import annotations

import json
import os
from datetime import date
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, create_engine, select
from typer.testing import CliRunner

from careflow import service
from careflow.db.tables import Guardian, Person
from careflow.errors import InputError
from careflow.registry import PluginRegistry
from cli import app
from plugins.childcare.classroom.tables import ClassroomEnrolment
from tests.cli.conftest import cli_env, runner  # noqa: F401  (CLI fixtures)
from tests.cli.helpers import assert_bad_input
from tests.support.cases import keyed_id

DISTRICT = "wanbailin"


def _pickup(engine: Engine) -> tuple[str, str, str]:
    """(child, authorised guardian, a person who is not) of Wanbailin, the child enrolled."""
    with Session(engine) as session:
        link = session.exec(
            select(Guardian)
            .join(Person, col(Person.id) == Guardian.child_id)
            .where(col(Person.community_code).startswith(f"{DISTRICT}."))
            .where(col(Guardian.authorised_pickup).is_(True))
            .order_by(col(Guardian.child_id))
        ).first()
        assert link is not None
        child = session.get(Person, link.child_id)
        assert child is not None
        stranger = session.exec(
            select(Person.id)
            .where(Person.kind == "adult")
            .where(col(Person.community_code).startswith(f"{DISTRICT}."))
            .where(col(Person.id).not_in(select(Guardian.guardian_id)))
            .order_by(col(Person.id))
        ).first()
        assert stranger is not None
        if session.get(ClassroomEnrolment, child.id) is None:
            session.add(
                ClassroomEnrolment(
                    child_id=child.id, community_code=child.community_code, enrolled_on=date.today()
                )
            )
            session.commit()
        return child.id, link.guardian_id, stranger


def _handover(child: str, guardian: str) -> dict[str, Any]:
    return {
        "district": DISTRICT,
        "case_ref": "C1",
        "child_ref": child,
        "guardian_ref": guardian,
        "actor": "V0001",
    }


def test_a_handover_to_someone_not_authorised_is_refused(
    seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    child, guardian, stranger = _pickup(seeded_engine)
    event_type = "childcare.classroom.handover"
    with pytest.raises(InputError) as refused:
        service.prepare_event(
            cc_registry,
            event_type=event_type,
            data=_handover(child, stranger),
            engine=seeded_engine,
        )
    assert refused.value.field == "data.guardian_ref"
    assert "not an authorised guardian" in refused.value.problem

    with pytest.raises(InputError) as unknown:
        service.prepare_event(
            cc_registry,
            event_type=event_type,
            data=_handover("P99999", guardian),
            engine=seeded_engine,
        )
    assert unknown.value.field == "data.child_ref"

    with Session(seeded_engine) as session:
        enrolment = session.get(ClassroomEnrolment, child)
        assert enrolment is not None
        enrolment.active = False
        session.add(enrolment)
        session.commit()
    with pytest.raises(InputError) as not_enrolled:
        service.prepare_event(
            cc_registry,
            event_type=event_type,
            data=_handover(child, guardian),
            engine=seeded_engine,
        )
    assert not_enrolled.value.field == "data.child_ref"


def test_the_authorised_guardian_passes_the_check(
    seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    child, guardian, _ = _pickup(seeded_engine)
    prepared = service.prepare_event(
        cc_registry,
        event_type="childcare.classroom.handover",
        data=_handover(child, guardian),
        engine=seeded_engine,
    )
    assert prepared.workflow_id == keyed_id("childcare.classroom", DISTRICT, "C1")


def test_the_cli_exits_2_with_one_line_and_sends_nothing(runner: CliRunner) -> None:  # noqa: F811
    assert runner.invoke(app, ["seed-demo"]).exit_code == 0
    engine = create_engine(os.environ["CAREFLOW_DATABASE_URL"])
    child, _, stranger = _pickup(engine)
    engine.dispose()
    # Nothing listens at the Temporal address: a refusal must come before any connection.
    result = runner.invoke(
        app,
        ["event", "childcare.classroom.handover", "--data", "-"],
        input=json.dumps(_handover(child, stranger)),
    )
    assert_bad_input(result, "data.guardian_ref", "not an authorised guardian")
