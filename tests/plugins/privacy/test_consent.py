"""Withdrawn consent: the next retention run removes the person's data from closed cases at
once (a case all theirs whole, a campaign only their part) and leaves open cases alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.engine import session_scope
from careflow.db.tables import CaseRecord, Consent, Person, Task
from careflow.privacy.consent import PURPOSES as CONSENT_PURPOSE_TABLE
from careflow.privacy.consent import withdraw_consent
from careflow.registry import PluginRegistry
from plugins.childcare.microwish.tables import CwCampaign, CwWish
from plugins.engine import plugin as engine_plugin
from plugins.privacy import RETENTION_PROCESS, RetentionResult
from plugins.privacy import plugin as privacy_plugin
from plugins.privacy.purposes import CONSENT_PURPOSES, PURPOSE_CODES, purpose_of
from plugins.privacy.tables import RetentionCase
from tests.plugins.privacy.support import (
    DISTRICT,
    LONG_AGO,
    canary_hits,
    elder,
    ledger,
    seed_case,
    snapshot,
)
from tests.support.inbox import wait_for_task
from worker.testing import running_worker

CAMPAIGN = f"childcare.microwish-{DISTRICT}-C9"


def test_every_consent_purpose_maps_to_the_purposes_of_its_processes() -> None:
    assert set(CONSENT_PURPOSES) == set(CONSENT_PURPOSE_TABLE)
    for code, purposes in CONSENT_PURPOSES.items():
        assert set(purposes) <= set(PURPOSE_CODES)
        used = {purpose_of(p) for p in CONSENT_PURPOSE_TABLE[code].processes}
        assert used <= set(purposes), code


def _consenting(engine: Engine, purpose: str, count: int) -> list[Person]:
    """Children of the district with a live consent for ``purpose``."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(Person)
                .join(Consent, col(Consent.subject_id) == col(Person.id))
                .where(
                    Consent.purpose == purpose,
                    col(Consent.withdrawn_at).is_(None),
                    col(Person.community_code).startswith(f"{DISTRICT}."),
                    Person.kind == "child",
                )
                .order_by(col(Person.id))
                .limit(count)
            ).all()
        )


def _withdraw(engine: Engine, person: Person, purpose: str) -> None:
    with session_scope(engine) as session:
        withdraw_consent(
            session,
            subject_id=person.id,
            purpose=purpose,
            withdrawn_by="S0001",
            at=datetime.now(UTC) - timedelta(hours=1),
        )


def _campaign(engine: Engine, withdrawn: Person, stays: Person) -> dict[str, int]:
    """A closed campaign with one wish of each child, their visit tasks and records."""
    wish_ids: dict[str, int] = {}
    with session_scope(engine) as session:
        session.add(
            CwCampaign(campaign_id=CAMPAIGN, district=DISTRICT, case_ref="C9", opened_at=LONG_AGO)
        )
        for seq, person in enumerate((withdrawn, stays), start=1):
            wish = CwWish(
                campaign_id=CAMPAIGN,
                seq=seq,
                child_ref=person.id,
                household_ref="H00001",
                community=person.community_code,
                gender=person.gender,
                age=8,
                status="delivered",
                category="school_bag",
                description_zh=f"{person.name}想要书包",
            )
            session.add(wish)
            session.flush()
            assert wish.id is not None
            wish_ids[person.id] = wish.id
            session.add(
                Task(
                    task_id=f"T{wish.id:012d}",
                    workflow_id=CAMPAIGN,
                    step_key=f"visit.{wish.id}",
                    process="childcare.microwish",
                    module="childcare",
                    district=DISTRICT,
                    community=person.community_code,
                    case_ref="C9",
                    role="grid_worker",
                    title_zh="入户走访",
                    title_en="Visit",
                    form_ref="tests:Form",
                    status="done",
                    due_at=LONG_AGO,
                    opened_at=LONG_AGO,
                    closed_at=LONG_AGO,
                    result={"guardian": person.name, "consent": True},
                )
            )
            session.add(
                CaseRecord(
                    workflow_id=CAMPAIGN,
                    step_key=f"visit.{wish.id}",
                    process="childcare.microwish",
                    district=DISTRICT,
                    case_ref="C9",
                    kind="wish_visited",
                    data={"child_ref": person.id, "status": "in_review"},
                    created_at=LONG_AGO,
                )
            )
    return wish_ids


async def test_a_withdrawal_removes_the_persons_data_from_closed_cases_only(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = PluginRegistry.build([engine_plugin, privacy_plugin])
    leaving, staying = _consenting(engine, "microwish", 2)
    applicant, waiting_child = _consenting(engine, "childcare_place", 4)[2:4]
    wish_ids = _campaign(engine, leaving, staying)
    # Closed ten days ago: far within the places period, retained at once all the same.
    application = seed_case(engine, purpose="places", person=applicant, ref="A7")
    ledger(engine, application, closed_at=datetime.now(UTC) - timedelta(days=10))
    for person, purpose in (
        (leaving, "microwish"),
        (applicant, "childcare_place"),
        (waiting_child, "childcare_place"),
    ):
        _withdraw(engine, person, purpose)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        # A places case still running: the process itself ends its work for the child.
        started = await service.start_process(
            ts_env.client,
            registry,
            process="delivery",
            district=DISTRICT,
            request={"recipient_ref": elder(engine).id, "items": [{"category": "stationery"}]},
            started_by="S0001",
            task_queue=worker.task_queue,
        )
        await wait_for_task(engine, started.workflow_id, "dropoff")
        with session_scope(engine) as session:
            session.add(
                CaseRecord(
                    workflow_id=started.workflow_id,
                    step_key="applied",
                    process="childcare.places",
                    district=DISTRICT,
                    case_ref=waiting_child.id,
                    kind="places_applied",
                    data={"child_ref": waiting_child.id},
                    created_at=LONG_AGO,
                )
            )
        before = snapshot(engine)
        dry = await _run(ts_env, registry, worker.task_queue, dry_run=True)
        assert snapshot(engine) == before
        result = await _run(ts_env, registry, worker.task_queue)
        await ts_env.client.get_workflow_handle(started.workflow_id).terminate("test finished")

    assert {p: t.cases for p, t in dry.consent.items()} == {"microwish": 1, "places": 1}
    assert dry.consent == result.consent
    assert result.consent["microwish"].rows == {
        "case_record.anonymised": 1,
        "cw_wish.anonymised": 1,
        "task.anonymised": 1,
    }
    assert result.consent["places"].rows["cc_places_application.deleted"] == 1
    # The leaving child is gone from the campaign; the other child and the campaign stay.
    assert canary_hits(engine, leaving.id, leaving.name) == {}
    assert canary_hits(engine, application.workflow_id, applicant.id) == {}
    with Session(engine) as session:
        wishes = {w.id: w for w in session.exec(select(CwWish)).all()}
        tasks = {t.step_key: t for t in session.exec(select(Task)).all()}
        entries = session.exec(
            select(RetentionCase).where(RetentionCase.retained_reason == "consent")
        ).all()
    gone, kept = wishes[wish_ids[leaving.id]], wishes[wish_ids[staying.id]]
    assert gone.child_ref.startswith("anon") and gone.description_zh is None
    assert gone.campaign_id == CAMPAIGN and gone.category == "school_bag"
    assert (kept.child_ref, kept.description_zh) == (staying.id, f"{staying.name}想要书包")
    assert tasks[f"visit.{wish_ids[leaving.id]}"].result is None
    assert tasks[f"visit.{wish_ids[staying.id]}"].result == {
        "guardian": staying.name,
        "consent": True,
    }
    assert sorted(e.purpose for e in entries) == ["microwish", "places"]
    # The running case still holds the child who withdrew: its process deals with it.
    assert canary_hits(engine, waiting_child.id)["case_record"] == 1


async def _run(
    env: WorkflowEnvironment, registry: PluginRegistry, task_queue: str, *, dry_run: bool = False
) -> RetentionResult:
    started = await service.start_process(
        env.client,
        registry,
        process=RETENTION_PROCESS,
        district=DISTRICT,
        request={"dry_run": dry_run},
        started_by="S0001",
        task_queue=task_queue,
    )
    handle = env.client.get_workflow_handle(started.workflow_id)
    return RetentionResult.model_validate(await handle.result())
