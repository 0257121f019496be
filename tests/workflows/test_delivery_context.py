"""What staff read on a delivery's drop-off and hand-over tasks: the goods, the donor and the
recipient, from the request the process records at its start, masked and unmasked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.tables import Donor, Person, Task
from careflow.forms import form_ref
from careflow.privacy.masking import mask_address
from careflow.registry import PluginRegistry
from careflow.task_context import ContextItem, mask_name, task_context
from plugins.engine.delivery import DropoffForm
from tests.support.inbox import records_of, wait_for_task
from worker.testing import running_worker

RECIPIENT = "P00012"
ITEMS: list[dict[str, Any]] = [
    {"category": "school_bag", "quantity": 1, "description_zh": "蓝色书包"},
    {"category": "winter_coat", "size": "130", "quantity": 2},
    {"category": "umbrella", "quantity": 3},
]
ITEM_LINES = ["书包 × 1", "冬衣 尺码 130 × 2", "umbrella × 3"]


def _donor(engine: Engine, kind: str) -> Donor:
    with Session(engine) as session:
        donor = session.exec(
            select(Donor).where(Donor.kind == kind).order_by(col(Donor.id))
        ).first()
    assert donor is not None
    return donor


def _by_label(items: list[ContextItem]) -> dict[str, object]:
    return {i.label_en: i.value for i in items}


def _context(engine: Engine, registry: PluginRegistry, task_id: str, *, unmasked: bool) -> Any:
    with Session(engine) as session:
        task = session.get(Task, task_id)
        assert task is not None
        return task_context(registry, session, task, unmasked=unmasked)


async def _start(
    env: WorkflowEnvironment, registry: PluginRegistry, task_queue: str, donor_ref: str
) -> str:
    started = await service.start_process(
        env.client,
        registry,
        process="delivery",
        district="wanbailin",
        request={"recipient_ref": RECIPIENT, "donor_ref": donor_ref, "items": ITEMS},
        started_by="staff:S0001",
        task_queue=task_queue,
    )
    return started.workflow_id


async def test_dropoff_and_handover_show_the_goods_and_an_organisation_donor(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, registry: PluginRegistry
) -> None:
    donor = _donor(seeded_engine, "organisation")
    with Session(seeded_engine) as session:
        recipient = session.get(Person, RECIPIENT)
    assert recipient is not None
    async with running_worker(ts_env.client, registry, engine=seeded_engine) as worker:
        workflow_id = await _start(ts_env, registry, worker.task_queue, donor.id)
        dropoff = await wait_for_task(seeded_engine, workflow_id, "dropoff")
        clear = _context(seeded_engine, registry, dropoff.task_id, unmasked=True)
        masked = _context(seeded_engine, registry, dropoff.task_id, unmasked=False)

        await service.complete_task(
            ts_env.client,
            seeded_engine,
            task_id=dropoff.task_id,
            actor="S0001",
            role="community_staff",
            data={"items_match": True, "storage_ref": "A-3"},
        )
        handover = await wait_for_task(seeded_engine, workflow_id, "handover")
        at_handover = _by_label(_context(seeded_engine, registry, handover.task_id, unmasked=False))
        await ts_env.client.get_workflow_handle(workflow_id).terminate("test done")

    # The request is recorded first, with ids, categories, sizes and quantities only.
    assert records_of(seeded_engine, workflow_id)[0] == ("request", "delivery_requested")
    assert [i.label_en for i in clear] == [
        "community",
        "recipient",
        "recipient phone",
        "items",
        "donor",
    ]
    assert _by_label(clear)["items"] == ITEM_LINES
    # An organisation's name is not personal data: shown in clear to every viewer.
    assert _by_label(clear)["donor"] == _by_label(masked)["donor"] == donor.name
    assert next(i for i in clear if i.label_en == "donor").personal is None
    assert _by_label(masked)["items"] == ITEM_LINES
    assert _by_label(clear)["recipient"] == recipient.name
    assert _by_label(masked)["recipient"] == mask_name(recipient.name)

    assert at_handover["items"] == ITEM_LINES
    assert at_handover["donor"] == donor.name
    assert at_handover["storage"] == "A-3"
    assert at_handover["address"] == mask_address(recipient.address or "") != recipient.address


async def test_a_person_donor_is_masked_as_a_name(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, registry: PluginRegistry
) -> None:
    donor = _donor(seeded_engine, "person")
    async with running_worker(ts_env.client, registry, engine=seeded_engine) as worker:
        workflow_id = await _start(ts_env, registry, worker.task_queue, donor.id)
        dropoff = await wait_for_task(seeded_engine, workflow_id, "dropoff")
        clear = _context(seeded_engine, registry, dropoff.task_id, unmasked=True)
        masked = _context(seeded_engine, registry, dropoff.task_id, unmasked=False)
        await ts_env.client.get_workflow_handle(workflow_id).terminate("test done")

    assert _by_label(clear)["donor"] == donor.name
    assert _by_label(masked)["donor"] == mask_name(donor.name)
    assert next(i for i in masked if i.label_en == "donor").personal == "name"
    assert _by_label(masked)["items"] == ITEM_LINES
    # Neither the donor's phone nor the recipient's address is shown at the drop-off.
    shown = {str(v) for v in _by_label(clear).values()}
    assert donor.phone not in shown


def test_a_delivery_started_before_the_request_was_recorded_keeps_the_old_view(
    seeded_engine: Engine, registry: PluginRegistry
) -> None:
    now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    with Session(seeded_engine) as session:
        task = Task(
            task_id="T000000000001",
            workflow_id=f"delivery-wanbailin-{RECIPIENT}.old",
            step_key="dropoff",
            process="delivery",
            module="shared",
            district="wanbailin",
            community=None,
            case_ref=f"{RECIPIENT}.old",
            role="community_staff",
            title_zh="登记物资送达",
            title_en="Record goods dropped off",
            form_ref=form_ref(DropoffForm),
            due_at=now + timedelta(days=7),
            opened_at=now,
        )
        session.add(task)
        session.commit()
        items = task_context(registry, session, task, unmasked=False)
    assert [i.label_en for i in items] == ["community", "recipient", "recipient phone"]
