"""Task types: forms resolved only from the registry, context views, masking."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session

from careflow.contract import CarePlugin, HumanTaskStep, TaskType
from careflow.db.tables import Task
from careflow.errors import PluginError
from careflow.forms import FormRefError, form_ref, known_form, resolve_form
from careflow.registry import PluginRegistry
from careflow.task_context import (
    UNAVAILABLE,
    ContextItem,
    mask_id_number,
    mask_item,
    mask_name,
    mask_phone,
    task_context,
)
from plugins.engine import plugin as engine_plugin
from plugins.engine.delivery import DropoffForm


class NoteForm(BaseModel):
    """A form of the test plugin."""

    note: str = ""


def _view(session: Session, task: Task) -> list[ContextItem]:
    return [
        ContextItem(label_zh="老人", label_en="elder", value="张小明", personal="name"),
        ContextItem(label_zh="电话", label_en="phone", value="13812345678", personal="phone"),
        ContextItem(label_zh="读数", label_en="reading", value=["160/95"], personal="health"),
        ContextItem(label_zh="社区", label_en="community", value="巨轮社区"),
    ]


def _broken(session: Session, task: Task) -> list[ContextItem]:
    raise LookupError("row P00001 张小明 missing")


def _plugin(name: str = "notes", *task_types: TaskType, steps: tuple = ()) -> CarePlugin:
    return CarePlugin(
        name=name,
        version="1.0.0",
        title_zh="测试",
        title_en="Test",
        task_types=task_types,
        steps=steps,
    )


def _task(form: str) -> Task:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    return Task(
        task_id="T000000000001",
        workflow_id="delivery-xinghualing-C1",
        step_key="dropoff",
        process="delivery",
        module="shared",
        district="xinghualing",
        case_ref="C1",
        role="community_staff",
        title_zh="t",
        title_en="t",
        form_ref=form,
        due_at=now + timedelta(days=1),
        opened_at=now,
    )


def test_masking_helpers() -> None:
    assert mask_name("张小明") == "张*明"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳小明") == "欧**明"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("140105195003151234") == "**************1234"
    assert (
        mask_item(ContextItem(label_zh="a", label_en="a", value="x", personal="address")).value
        == "****"
    )


def test_registry_resolves_declared_forms_only() -> None:
    registry = PluginRegistry.build([engine_plugin, _plugin("notes", TaskType(form=NoteForm))])
    assert registry.form(form_ref(NoteForm)) is NoteForm
    assert resolve_form(registry, form_ref(DropoffForm)) is DropoffForm
    assert known_form(form_ref(NoteForm)) is NoteForm
    assert registry.task_type(form_ref(DropoffForm)).context is not None


@pytest.mark.parametrize(
    "ref", ["os:system", "tests.evil:Thing", "subprocess:Popen", "careflow.db.tables:Task", "x"]
)
def test_an_arbitrary_module_named_by_a_row_is_refused_without_importing(ref: str) -> None:
    registry = PluginRegistry.build([engine_plugin])
    before = set(sys.modules)
    with pytest.raises(FormRefError):
        registry.form(ref)
    with pytest.raises(FormRefError):
        known_form(ref)
    assert "tests.evil" not in sys.modules
    assert set(sys.modules) == before


def test_a_form_declared_by_two_plugins_is_refused() -> None:
    with pytest.raises(PluginError) as info:
        PluginRegistry.build(
            [_plugin("a", TaskType(form=NoteForm)), _plugin("b", TaskType(form=NoteForm))]
        )
    assert info.value.plugin == "b" and "already declared by 'a'" in str(info.value)


def test_a_task_type_or_step_whose_form_is_not_a_model_is_refused() -> None:
    with pytest.raises(PluginError, match="not a pydantic model") as info:
        PluginRegistry.build([_plugin("a", TaskType(form=dict))])  # type: ignore[arg-type]
    assert info.value.plugin == "a"
    step = HumanTaskStep(
        key="notes.check",
        process="delivery",
        point="after_dropoff",
        summary_zh="检查",
        role="community_staff",
        title_zh="检查",
        title_en="Check",
        form=dict,  # type: ignore[arg-type]
        due=timedelta(hours=1),
    )
    with pytest.raises(PluginError, match="not a pydantic model") as info:
        PluginRegistry.build([engine_plugin, _plugin("steps", steps=(step,))])
    assert info.value.plugin == "steps"


def test_a_step_form_is_known_and_may_get_its_view_from_the_same_plugin() -> None:
    step = HumanTaskStep(
        key="notes.check",
        process="delivery",
        point="after_dropoff",
        summary_zh="检查",
        role="community_staff",
        title_zh="检查",
        title_en="Check",
        form=NoteForm,
        due=timedelta(hours=1),
    )
    bare = PluginRegistry.build([engine_plugin, _plugin("steps", steps=(step,))])
    assert bare.task_type(form_ref(NoteForm)).context is None
    assert bare.task_type(form_ref(NoteForm)).title_zh == "检查"
    viewed = PluginRegistry.build(
        [engine_plugin, _plugin("steps", TaskType(form=NoteForm, context=_view), steps=(step,))]
    )
    assert viewed.task_type(form_ref(NoteForm)).context is _view


def test_task_context_masks_unless_unmasked(engine: Engine) -> None:
    registry = PluginRegistry.build([_plugin("notes", TaskType(form=NoteForm, context=_view))])
    with Session(engine) as session:
        clear = task_context(registry, session, _task(form_ref(NoteForm)), unmasked=True)
        masked = task_context(registry, session, _task(form_ref(NoteForm)), unmasked=False)
    assert [i.value for i in clear] == ["张小明", "13812345678", ["160/95"], "巨轮社区"]
    assert [i.value for i in masked] == ["张*明", "138****5678", "已隐藏", "巨轮社区"]


def test_task_context_shows_only_the_kinds_asked_for_in_clear(engine: Engine) -> None:
    registry = PluginRegistry.build([_plugin("notes", TaskType(form=NoteForm, context=_view))])
    with Session(engine) as session:
        partly = task_context(
            registry, session, _task(form_ref(NoteForm)), unmasked=frozenset({"name", "phone"})
        )
    assert [i.value for i in partly] == ["张小明", "13812345678", "已隐藏", "巨轮社区"]


def test_unknown_form_or_failing_view_gives_one_unavailable_item(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = PluginRegistry.build([_plugin("notes", TaskType(form=NoteForm, context=_broken))])
    with Session(engine) as session:
        assert task_context(registry, session, _task("os:system"), unmasked=True) == [UNAVAILABLE]
        assert task_context(registry, session, _task(form_ref(NoteForm)), unmasked=True) == [
            UNAVAILABLE
        ]
    assert UNAVAILABLE.label_zh == "上下文不可用"
    assert "张小明" not in capsys.readouterr().out
