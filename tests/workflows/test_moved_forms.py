"""Forms that moved keep working under the references stored before the move.

The Delivery and community event processes moved from ``workflows/`` to the engine plugin's
package, so their forms' references changed (``workflows.delivery:DropoffForm`` →
``plugins.engine.delivery.forms:DropoffForm``). Task rows written before, and recorded
histories, hold the old ones: the task types keep them as aliases.
"""

from __future__ import annotations

import pytest
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.contract import CarePlugin, TaskType
from careflow.db.tables import Task
from careflow.errors import InputError, PluginError
from careflow.forms import form_ref, known_form
from careflow.registry import PluginRegistry
from careflow.task_context import UNAVAILABLE, task_context
from plugins.engine import plugin as engine_plugin
from plugins.engine.community_event import AttendanceForm
from plugins.engine.delivery import DropoffForm, HandoverForm
from tests.support.inbox import wait_for_task
from worker.testing import running_worker

OLD_REFS: dict[str, type[BaseModel]] = {
    "workflows.delivery:DropoffForm": DropoffForm,
    "workflows.delivery:HandoverForm": HandoverForm,
    "workflows.community_event:AttendanceForm": AttendanceForm,
}


@pytest.mark.parametrize("old", sorted(OLD_REFS))
def test_old_references_resolve_to_the_moved_forms(old: str) -> None:
    registry = PluginRegistry.build([engine_plugin])
    form = OLD_REFS[old]
    assert form_ref(form) != old
    assert registry.form(old) is form
    assert registry.task_type(old) is registry.task_type(form_ref(form))
    assert registry.task_type_owner(old) is engine_plugin
    # Workflows read the process-wide index: the old reference is there too.
    assert known_form(old) is form
    # Listings show each task type once, under its current reference.
    assert old not in registry.task_types()


class NoteForm(BaseModel):
    """A form of the test plugins."""

    note: str = ""


def _plugin(name: str, *aliases: str) -> CarePlugin:
    return CarePlugin(
        name=name,
        version="1.0.0",
        title_zh="测试",
        title_en="Test",
        task_types=(TaskType(form=NoteForm, aliases=aliases),),
    )


def test_an_alias_that_names_another_form_is_refused() -> None:
    with pytest.raises(PluginError) as refused:
        PluginRegistry.build([engine_plugin, _plugin("notes", "workflows.delivery:DropoffForm")])
    assert refused.value.plugin == "notes"
    assert "workflows.delivery:DropoffForm" in str(refused.value)


def test_a_malformed_alias_is_refused() -> None:
    with pytest.raises(PluginError) as refused:
        PluginRegistry.build([_plugin("notes", "no colon here")])
    assert refused.value.plugin == "notes"
    assert "alias 'no colon here'" in str(refused.value)


async def test_a_task_row_stored_under_the_old_reference_is_shown_and_completed(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, registry: PluginRegistry
) -> None:
    async with running_worker(ts_env.client, registry, engine=seeded_engine) as worker:
        started = await service.start_process(
            ts_env.client,
            registry,
            process="delivery",
            district="wanbailin",
            request={"recipient_ref": "P00012", "items": [{"category": "books"}]},
            started_by="staff:S0001",
            task_queue=worker.task_queue,
        )
        dropoff = await wait_for_task(seeded_engine, started.workflow_id, "dropoff")
        # The row as a worker from before the move wrote it.
        with Session(seeded_engine) as session:
            row = session.get(Task, dropoff.task_id)
            assert row is not None
            row.form_ref = "workflows.delivery:DropoffForm"
            session.add(row)
            session.commit()
            session.refresh(row)
            shown = task_context(registry, session, row, unmasked=False)
        assert shown != [UNAVAILABLE]
        assert shown[0].label_en == "community"

        with pytest.raises(InputError) as refused:
            service.check_completion(
                seeded_engine,
                task_id=dropoff.task_id,
                actor="S0001",
                role="community_staff",
                data={"storage_ref": "A-3"},
                registry=registry,
            )
        assert refused.value.field.startswith("data")
        outcome = await service.complete_task(
            ts_env.client,
            seeded_engine,
            task_id=dropoff.task_id,
            actor="S0001",
            role="community_staff",
            data={"items_match": True, "storage_ref": "A-3"},
        )
        assert outcome.data["storage_ref"] == "A-3"
        await ts_env.client.get_workflow_handle(started.workflow_id).terminate("test done")
