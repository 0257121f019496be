"""Context views of the modules' tasks, on the rows their processes write (inserted directly)
and the seeded demo registry: what a staff member reads, and that masking hides it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from careflow.db.tables import CaseRecord, Guardian, Pairing, Person, Provider, Task
from careflow.forms import form_ref
from careflow.privacy.masking import mask_address
from careflow.registry import PluginRegistry
from careflow.task_context import ContextItem, mask_name, mask_phone, task_context
from plugins.childcare.classroom.forms import CallForm as LatePickupForm
from plugins.childcare.places.forms import OfferAnswerForm
from plugins.childcare.places.tables import PlacesApplication
from plugins.eldercare.curtain.forms import CurtainCheckForm
from plugins.eldercare.green_channel.forms import TriageForm
from plugins.eldercare.health.forms import ReviewForm as AlertReviewForm
from plugins.eldercare.health.tables import HealthAlert, HealthReading
from tests.support.plugins import BUILT_IN

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def registry() -> PluginRegistry:
    return PluginRegistry.build(BUILT_IN)


def _task(
    session: Session, form: type[BaseModel], *, workflow_id: str, step_key: str, case_ref: str
) -> Task:
    task = Task(
        task_id=f"T{abs(hash((workflow_id, step_key))) % 10**12:012d}",
        workflow_id=workflow_id,
        step_key=step_key,
        process="test",
        module="test",
        district="xinghualing",
        community=None,
        case_ref=case_ref,
        role="community_staff",
        title_zh="t",
        title_en="t",
        form_ref=form_ref(form),
        due_at=NOW + timedelta(hours=2),
        opened_at=NOW,
    )
    session.add(task)
    session.commit()
    return task


def _by_label(items: list[ContextItem]) -> dict[str, object]:
    return {i.label_en: i.value for i in items}


def test_late_pickup_call_names_the_child_and_guardians(
    seeded_engine: Engine, registry: PluginRegistry
) -> None:
    with Session(seeded_engine) as session:
        link = session.exec(select(Guardian).order_by(col(Guardian.child_id))).first()
        assert link is not None
        child = session.get(Person, link.child_id)
        guardian = session.get(Person, link.guardian_id)
        assert child is not None and guardian is not None
        task = _task(
            session,
            LatePickupForm,
            workflow_id=f"childcare.classroom-xinghualing-C1.{child.community_code}",
            step_key=f"call.{child.id}",
            case_ref="C1",
        )
        clear = _by_label(task_context(registry, session, task, unmasked=True))
        masked = _by_label(task_context(registry, session, task, unmasked=False))
    assert clear["child"] == child.name
    assert clear[f"guardian ({link.relation})"] == guardian.name
    assert clear[f"guardian ({link.relation}) phone"] == guardian.phone
    assert masked["child"] == mask_name(child.name) != child.name
    assert masked[f"guardian ({link.relation}) phone"] == mask_phone(guardian.phone or "")


def test_alert_review_shows_the_reading_and_the_elder(
    seeded_engine: Engine, registry: PluginRegistry
) -> None:
    with Session(seeded_engine) as session:
        elder = session.exec(select(Person).where(Person.kind == "elder")).first()
        assert elder is not None
        reading = HealthReading(
            workflow_id="eldercare.health-xinghualing-" + elder.id,
            step_key="reading.1",
            elder_ref=elder.id,
            district="xinghualing",
            device_id="BP-7",
            measured_at=NOW,
            systolic=182,
            diastolic=112,
        )
        session.add(reading)
        session.flush()
        alert = HealthAlert(
            workflow_id=reading.workflow_id,
            step_key="alert.1",
            elder_ref=elder.id,
            district="xinghualing",
            reading_id=reading.id or 0,
            severity="critical",
            rules=["systolic>=180"],
        )
        session.add(alert)
        session.commit()
        task = _task(
            session,
            AlertReviewForm,
            workflow_id=f"eldercare.health_alert-xinghualing-{elder.id}.A{alert.id}",
            step_key="review",
            case_ref=f"{elder.id}.A{alert.id}",
        )
        clear = _by_label(task_context(registry, session, task, unmasked=True))
        masked = _by_label(task_context(registry, session, task, unmasked=False))
    assert clear["elder"] == elder.name and clear["elder phone"] == elder.phone
    assert clear["reading"] == ["血压 blood pressure 182/112 mmHg"]
    assert clear["thresholds crossed"] == ["systolic>=180"]
    assert clear["severity"] == "critical"
    assert masked["reading"] == "已隐藏" and masked["elder"] == mask_name(elder.name)


def test_curtain_check_names_the_elder_and_the_volunteer(
    seeded_engine: Engine, registry: PluginRegistry
) -> None:
    with Session(seeded_engine) as session:
        pairing = session.exec(select(Pairing).where(Pairing.kind == "curtain")).first()
        assert pairing is not None
        elder = session.get(Person, pairing.elder_id)
        assert elder is not None
        task = _task(
            session,
            CurtainCheckForm,
            workflow_id="eldercare.curtain_batch-xinghualing-20260302.b1",
            step_key=f"check.{elder.id}.20260302",
            case_ref="20260302.b1",
        )
        clear = _by_label(task_context(registry, session, task, unmasked=True))
        masked = _by_label(task_context(registry, session, task, unmasked=False))
    assert clear["elder"] == elder.name and clear["address"] == elder.address
    assert clear["volunteer"]
    assert masked["address"] == mask_address(elder.address or "") != elder.address
    assert masked["address"].endswith("****") and masked["elder"] == mask_name(elder.name)
    assert masked["volunteer"] == clear["volunteer"]  # staff of the service, not the subject


def test_place_offer_names_the_provider_and_the_child(
    seeded_engine: Engine, registry: PluginRegistry
) -> None:
    with Session(seeded_engine) as session:
        provider = session.exec(select(Provider).where(Provider.kind != "hospital")).first()
        child = session.exec(select(Person).where(Person.kind == "child")).first()
        assert provider is not None and child is not None
        workflow_id = "childcare.places-xinghualing-A1"
        session.add(
            PlacesApplication(
                workflow_id=workflow_id,
                child_id=child.id,
                district="xinghualing",
                status="offered",
                provider_id=provider.id,
                queued_at=NOW,
            )
        )
        session.commit()
        task = _task(
            session, OfferAnswerForm, workflow_id=workflow_id, step_key="offer.1", case_ref="A1"
        )
        masked = _by_label(task_context(registry, session, task, unmasked=False))
    assert masked["provider"] == provider.name_zh
    assert masked["child"] == mask_name(child.name)
    assert masked["status"] == "offered" and masked["queued since"] == "2026-03-02"


def test_green_channel_task_shows_the_elder_and_the_triage(
    seeded_engine: Engine, registry: PluginRegistry
) -> None:
    with Session(seeded_engine) as session:
        elder = session.exec(select(Person).where(Person.kind == "elder")).first()
        assert elder is not None
        workflow_id = f"eldercare.green_channel-xinghualing-{elder.id}"
        for key, kind, data in (
            ("opened", "green_channel_opened", {"elder_ref": elder.id, "source": "staff"}),
            ("triage", "triaged", {"level": "urgent", "by": "S0001"}),
        ):
            session.add(
                CaseRecord(
                    workflow_id=workflow_id,
                    step_key=key,
                    process="eldercare.green_channel",
                    district="xinghualing",
                    case_ref=elder.id,
                    kind=kind,
                    data=data,
                )
            )
        session.commit()
        task = _task(
            session, TriageForm, workflow_id=workflow_id, step_key="triage", case_ref=elder.id
        )
        clear = _by_label(task_context(registry, session, task, unmasked=True))
    assert clear["elder"] == elder.name
    assert clear["triage level"] == "urgent" and clear["raised by"] == "staff"


def test_a_view_whose_rows_are_missing_says_context_unavailable(
    seeded_engine: Engine, registry: PluginRegistry
) -> None:
    with Session(seeded_engine) as session:
        task = _task(
            session,
            OfferAnswerForm,
            workflow_id="childcare.places-x-none",
            step_key="offer.1",
            case_ref="none",
        )
        items = task_context(registry, session, task, unmasked=True)
    assert [i.label_en for i in items] == ["context unavailable"]
