"""Loading plugins: every validation error names the plugin and the problem."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel

from careflow.contract import (
    ActivityStep,
    CarePlugin,
    ChildProcessStep,
    DistrictProgramme,
    EventRoute,
    HumanTaskStep,
    ProcessSpec,
    ScheduleSpec,
)
from careflow.errors import InputError, PluginError
from careflow.plan import StepKind
from careflow.registry import PluginRegistry, discover_plugins, load_overrides
from plugins.engine import DELIVERY
from plugins.engine import plugin as engine_plugin
from plugins.engine.delivery import DropoffEvent
from tests.support.sample_plugin import CallForm, HeartbeatWorkflow, make_sample_plugin


def _district(name: str = "district", **fields: object) -> CarePlugin:
    base = CarePlugin(name=name, version="1.0", title_zh="区", title_en="District", order=50)
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def _load(*extra: CarePlugin) -> PluginRegistry:
    return PluginRegistry.build([engine_plugin, *extra])


def test_entry_points_discover_the_engine() -> None:
    names = [p.name for p in discover_plugins()]
    assert "engine" in names


def test_valid_plugins_build_and_plan_in_order() -> None:
    registry = _load(make_sample_plugin())
    plan = registry.resolve_plan("delivery", "wanbailin")
    assert [s.key for s in plan.steps] == ["sample.stamp", "sample.call"]
    assert plan.plugins == {"engine": "0.1.0", "sample": "1.0.0"}
    assert plan.steps[1].kind is StepKind.HUMAN_TASK
    assert plan.steps[1].task is not None and plan.steps[1].task.roles == [
        "community_staff",
        "district_admin",
    ]
    # Xiaodian gets the wait step instead of the call, and its own param.
    xiaodian = registry.resolve_plan("delivery", "xiaodian")
    assert [s.key for s in xiaodian.steps] == ["sample.stamp", "sample.cooldown"]
    assert xiaodian.params["handover_due"] == "PT6H"
    assert registry.resolve_plan("delivery", "yingze").params["handover_due"] == "P2D"


@pytest.mark.parametrize(
    ("plugin", "problem"),
    [
        (
            _district(
                steps=(
                    ActivityStep(
                        key="x", process="nope", point="after_dropoff", summary_zh="x", activity="a"
                    ),
                )
            ),
            "step 'x' names unknown process 'nope'",
        ),
        (
            _district(
                steps=(
                    ActivityStep(
                        key="x", process="delivery", point="nowhere", summary_zh="x", activity="a"
                    ),
                )
            ),
            "unknown extension point 'nowhere'",
        ),
        (
            _district(
                steps=(
                    ActivityStep(
                        key="x",
                        process="delivery",
                        point="after_dropoff",
                        summary_zh="x",
                        activity="not.registered",
                    ),
                )
            ),
            "unregistered activity 'not.registered'",
        ),
        (
            _district(
                steps=(
                    HumanTaskStep(
                        key="x",
                        process="delivery",
                        point="after_dropoff",
                        summary_zh="x",
                        role="janitor",
                        title_zh="x",
                        title_en="x",
                        form=CallForm,
                        due=timedelta(hours=1),
                    ),
                )
            ),
            "unknown role 'janitor'",
        ),
        (
            _district(
                steps=(
                    ChildProcessStep(
                        key="x",
                        process="delivery",
                        point="after_dropoff",
                        summary_zh="x",
                        child_process="delivery",
                        request={"items": []},
                    ),
                )
            ),
            "step 'x' request:",
        ),
        (
            _district(
                steps=(
                    ActivityStep(
                        key="x",
                        process="delivery",
                        point="after_dropoff",
                        summary_zh="x",
                        activity="careflow.notify",
                        districts=frozenset({"atlantis"}),
                    ),
                )
            ),
            "unknown districts ['atlantis']",
        ),
        (
            _district(programmes=(DistrictProgramme(district="atlantis"),)),
            "unknown district 'atlantis'",
        ),
        (
            _district(
                programmes=(
                    DistrictProgramme(
                        district="yingze", params={"delivery": {"handover_due": "soon"}}
                    ),
                )
            ),
            "params for 'delivery' in 'yingze': handover_due:",
        ),
        (
            _district(processes=(DELIVERY,)),
            "process 'delivery' is already defined by 'engine'",
        ),
        (
            _district(
                routes=(
                    EventRoute(
                        event_type="x", model=DropoffEvent, process="delivery", signal="missing"
                    ),
                )
            ),
            "has no signal 'missing'",
        ),
        (
            _district(
                routes=(
                    EventRoute(
                        event_type="delivery.dropoff",
                        model=DropoffEvent,
                        process="delivery",
                        signal="dropoff_recorded",
                    ),
                )
            ),
            "event type 'delivery.dropoff' is already routed",
        ),
        (
            _district(
                schedules=(
                    ScheduleSpec(id="s", process="delivery", title_zh="s", crons=("every day",)),
                )
            ),
            "cron 'every day' needs five fields",
        ),
        (
            _district(
                schedules=(
                    ScheduleSpec(id="s", process="delivery", title_zh="s", crons=("0 9 * * *",)),
                )
            ),
            "schedule 's' request: recipient_ref: Field required",
        ),
        (_district(version=""), "version is empty"),
        (_district(workflows=(object,)), "object is not a @workflow.defn"),
    ],
)
def test_broken_plugin_is_refused_naming_plugin_and_problem(
    plugin: CarePlugin, problem: str
) -> None:
    with pytest.raises(PluginError) as caught:
        _load(plugin)
    assert caught.value.plugin == "district"
    assert str(caught.value).startswith("plugin 'district': ")
    assert problem in str(caught.value)


def test_duplicate_plugin_names_are_refused() -> None:
    with pytest.raises(PluginError, match="duplicate"):
        PluginRegistry.build([engine_plugin, _district(), _district()])


def test_params_model_without_defaults_is_refused() -> None:
    class NeedsValue(BaseModel):
        cap: int

    process = ProcessSpec(
        id="beats",
        module="sample",
        title_zh="x",
        title_en="x",
        workflow=HeartbeatWorkflow,
        request_model=BaseModel,
        params_model=NeedsValue,
    )
    with pytest.raises(PluginError, match="needs a default for every field: cap: Field required"):
        _load(_district(processes=(process,)))


def test_processes_without_engine_activities_are_refused() -> None:
    with pytest.raises(PluginError, match="engine activities not registered"):
        PluginRegistry.build([dataclasses.replace(engine_plugin, activities=())])


def test_plan_rejects_unknown_process_district_and_disabled() -> None:
    registry = _load(
        _district(
            programmes=(DistrictProgramme(district="jinyuan", disable=frozenset({"delivery"})),)
        )
    )
    with pytest.raises(InputError, match="unknown process 'nope'"):
        registry.resolve_plan("nope", "yingze")
    with pytest.raises(InputError, match="unknown district 'atlantis'"):
        registry.resolve_plan("delivery", "atlantis")
    with pytest.raises(InputError, match="not enabled in 'jinyuan'"):
        registry.resolve_plan("delivery", "jinyuan")


def test_config_file_overrides_params_and_bad_values_name_the_key(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[district.yingze.delivery]\nhandover_due = "PT12H"\n', encoding="utf-8")
    registry = PluginRegistry.build([engine_plugin], overrides=load_overrides(good))
    assert registry.resolve_plan("delivery", "yingze").params["handover_due"] == "PT12H"

    bad = tmp_path / "bad.toml"
    bad.write_text('[district.yingze.delivery]\nhandover_due = "later"\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        PluginRegistry.build([engine_plugin], overrides=load_overrides(bad))
    assert caught.value.field == "[district.yingze.delivery]"
    assert "handover_due" in caught.value.problem

    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[district.atlantis.delivery]\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"\[district\.atlantis\]: unknown district"):
        PluginRegistry.build([engine_plugin], overrides=load_overrides(unknown))

    broken = tmp_path / "broken.toml"
    broken.write_text("[district.yingze\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"broken\.toml: not valid TOML"):
        load_overrides(broken)


def test_schedule_time_param_moves_the_cron_per_district(tmp_path: Path) -> None:
    config = tmp_path / "districts.toml"
    config.write_text('[district.xinghualing."eldercare.curtain_round"]\nround_time = "08:05"\n')
    from plugins.eldercare import plugin as eldercare_plugin

    registry = PluginRegistry.build(
        [engine_plugin, eldercare_plugin], overrides=load_overrides(config)
    )
    (_, spec) = next((p, s) for p, s in registry.schedules() if s.time_param == "round_time")
    assert spec.crons_for(registry.params_for(spec.process, "xinghualing")) == ["5 8 * * *"]
    assert spec.crons_for(registry.params_for(spec.process, "yingze")) == ["30 9 * * *"]


def test_schedule_time_param_must_be_a_param() -> None:
    broken = _district(
        schedules=(
            ScheduleSpec(
                id="s",
                process="sample.heartbeat",
                title_zh="s",
                crons=("0 9 * * *",),
                time_param="nope",
            ),
        )
    )
    with pytest.raises(PluginError, match="time_param 'nope' is not a param"):
        PluginRegistry.build([engine_plugin, make_sample_plugin(), broken])
