"""District parameters that would break a process later are refused when plugins load."""

from __future__ import annotations

import re
import typing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from careflow.areas import DISTRICTS
from careflow.contract import CarePlugin, DistrictProgramme, HumanTaskStep, WaitStep
from careflow.errors import InputError, PluginError
from careflow.plan import Plan, PlanStep, StepKind
from careflow.registry import PluginRegistry, load_overrides
from careflow.settings import Settings
from plugins.childcare import plugin as childcare_plugin
from plugins.eldercare import plugin as eldercare_plugin
from plugins.engine import plugin as engine_plugin
from plugins.privacy import plugin as privacy_plugin
from plugins.wanbailin import plugin as wanbailin_plugin
from plugins.xiaodian import plugin as xiaodian_plugin
from plugins.xinghualing import plugin as xinghualing_plugin
from plugins.yingze import plugin as yingze_plugin
from tests.support.sample_plugin import CallForm

ROOT = Path(__file__).resolve().parents[2]

#: Durations where zero means "at once" and is allowed; every other one must be positive.
ZERO_ALLOWED = {("community_event", "reminder_lead"), ("childcare.classroom", "late_after")}


#: The built-in plugins, named rather than discovered, so an extra installed plugin changes nothing.
BUILT_IN = (
    engine_plugin,
    eldercare_plugin,
    childcare_plugin,
    wanbailin_plugin,
    xiaodian_plugin,
    xinghualing_plugin,
    yingze_plugin,
    privacy_plugin,
)


def _registry(**kwargs: Any) -> PluginRegistry:
    return PluginRegistry.build(BUILT_IN, **kwargs)


def _params_models() -> list[tuple[str, type[BaseModel]]]:
    return [(pid, spec.params_model) for pid, spec in _registry().processes.items()]


def _is_int_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) is not list:
        return False
    (item,) = typing.get_args(annotation)
    if typing.get_origin(item) is typing.Annotated:
        item = typing.get_args(item)[0]
    return item is int


def _refused(model: type[BaseModel], data: dict[str, Any]) -> bool:
    try:
        model.model_validate(data)
    except ValidationError:
        return True
    return False


def test_every_duration_param_of_every_process_refuses_negative_zero_and_huge() -> None:
    checked = 0
    for process, model in _params_models():
        for name, field in model.model_fields.items():
            if field.annotation is not timedelta:
                continue
            checked += 1
            assert _refused(model, {name: "-PT5M"}), (process, name, "negative")
            assert _refused(model, {name: "P99999D"}), (process, name, "over ten years")
            if (process, name) not in ZERO_ALLOWED:
                assert _refused(model, {name: "PT0S"}), (process, name, "zero")
    assert checked > 60  # every process's due times, not a handful


def test_every_day_list_param_refuses_repeats_negatives_and_zero() -> None:
    lists = [
        (process, model, name)
        for process, model in _params_models()
        for name, field in model.model_fields.items()
        if _is_int_list(field.annotation)
    ]
    assert ("eldercare.green_channel", "follow_up_days") in {(p, n) for p, _, n in lists}
    for process, model, name in lists:
        for bad in ([0, 0], [1, 1], [-3], [0], [7, 1]):
            assert _refused(model, {name: bad}), (process, name, bad)
        assert not _refused(model, {name: [1, 7, 30]})


@pytest.mark.parametrize(
    ("process", "params", "problem"),
    [
        ("eldercare.green_channel", {"follow_up_days": [0, 0]}, "follow_up_days"),
        ("eldercare.green_channel", {"follow_up_days": [1, 1]}, "days repeat: [1]"),
        ("eldercare.green_channel", {"follow_up_days": [-3]}, "follow_up_days.0"),
        ("delivery", {"handover_due": "-PT5M"}, "handover_due: Input should be greater than 0"),
        ("delivery", {"handover_due": "PT0S"}, "handover_due"),
        ("delivery", {"handover_dux": "PT5M"}, "handover_dux: unknown key, did you mean"),
        ("eldercare.health_monitor", {"rules": {"systolic_hgh": 1}}, "rules.systolic_hgh"),
        ("eldercare.health_monitor", {"rules": {"systolic_high": 300}}, "systolic thresholds"),
        ("eldercare.curtain_round", {"round_time": "25:00"}, "round_time"),
        ("eldercare.curtain_round", {"utc_offset_hours": 24}, "utc_offset_hours"),
        ("childcare.microwish", {"min_age": 12, "max_age": 6}, "min_age 12 is above max_age"),
        ("childcare.classroom", {"final_wait": "PT10M"}, "final_wait must be longer"),
    ],
)
def test_config_values_that_would_break_a_process_are_refused(
    tmp_path: Path, process: str, params: dict[str, Any], problem: str
) -> None:
    overrides = {"wanbailin": {process: params}}
    with pytest.raises(InputError) as caught:
        _registry(overrides=overrides, config_source="districts.toml")
    assert caught.value.field.startswith("plugin configuration districts.toml [district.wanbailin.")
    assert problem in caught.value.problem


def test_config_tables_name_the_file_table_and_key(tmp_path: Path) -> None:
    config = tmp_path / "districts.toml"
    config.write_text("[district.wanbailin]\ndelivery = 5\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        _registry(overrides=load_overrides(config), config_source=str(config))
    assert str(caught.value) == (
        f"plugin configuration {config} [district.wanbailin]: delivery = 5 is not a table; "
        "write the parameters of 'delivery' under [district.wanbailin.delivery], "
        "one key = value per line"
    )


def test_unquoted_module_process_id_says_how_to_quote(tmp_path: Path) -> None:
    config = tmp_path / "districts.toml"
    config.write_text("[district.wanbailin.childcare.microwish]\nmin_age = 3\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        _registry(overrides=load_overrides(config), config_source=str(config))
    assert '[district.wanbailin."childcare.microwish"]' in str(caught.value)
    assert "quote" in str(caught.value)


def test_config_that_is_not_utf8_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "districts.toml"
    config.write_bytes(b'[district.wanbailin.delivery]\nhandover_due = "PT5M" # \xff\xfe\n')
    with pytest.raises(InputError, match=r"districts\.toml: not UTF-8 text"):
        load_overrides(config)


def test_programme_params_with_unknown_keys_are_refused() -> None:
    district = CarePlugin(
        name="district",
        version="1.0",
        title_zh="区",
        title_en="District",
        programmes=(
            DistrictProgramme(district="wanbailin", params={"delivery": {"handover_dux": "P1D"}}),
        ),
    )
    with pytest.raises(PluginError, match=r"'district'.*handover_dux: unknown key"):
        PluginRegistry.build([engine_plugin, district])


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        (
            HumanTaskStep(
                key="district.call",
                process="delivery",
                point="after_handover",
                summary_zh="回访",
                role="community_staff",
                title_zh="回访",
                title_en="Call",
                form=CallForm,
                due=timedelta(0),
            ),
            "step 'district.call': due must be positive",
        ),
        (
            WaitStep(
                key="district.pause",
                process="delivery",
                point="after_dropoff",
                summary_zh="等待",
                duration=-timedelta(minutes=5),
            ),
            "step 'district.pause': duration must be positive",
        ),
    ],
)
def test_steps_with_zero_or_negative_durations_are_refused(step: Any, problem: str) -> None:
    district = CarePlugin(
        name="district", version="1.0", title_zh="区", title_en="District", steps=(step,)
    )
    with pytest.raises(PluginError, match=re.escape(problem)):
        PluginRegistry.build([engine_plugin, district])


def test_a_plan_with_repeated_step_keys_cannot_be_made() -> None:
    step = PlanStep(
        key="stamp",
        plugin="p",
        plugin_version="1",
        point="after_dropoff",
        kind=StepKind.WAIT,
        summary_zh="等",
        wait=timedelta(minutes=1),
    )
    with pytest.raises(ValidationError, match=r"step keys repeat .*\['stamp'\]"):
        Plan(
            process="delivery",
            district="wanbailin",
            resolved_at=datetime.now(UTC),
            plugins={"p": "1"},
            steps=[step, step],
        )


def test_every_plan_resolves_with_distinct_step_keys() -> None:
    registry = _registry()
    for process in registry.processes:
        for district in DISTRICTS:
            if registry.is_enabled(process, district):
                keys = [s.key for s in registry.resolve_plan(process, district).steps]
                assert len(keys) == len(set(keys)), (process, district)


@pytest.mark.parametrize(
    "address", ["not an address", "127.0.0.1", "host:0", "host:99999", "http://host:7233", ":7233"]
)
def test_temporal_address_must_be_host_port(address: str) -> None:
    with pytest.raises(ValidationError, match="temporal_address"):
        Settings(temporal_address=address)


@pytest.mark.parametrize("address", ["127.0.0.1:7233", "temporal.example.com:443", "[::1]:7233"])
def test_temporal_address_accepts_host_port(address: str) -> None:
    assert Settings(temporal_address=address).temporal_address == address


def test_readme_configuration_examples_load(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    examples = [b for b in re.findall(r"```toml\n(.*?)```", text, re.S) if "[district." in b]
    assert examples, "the README shows no [district.…] configuration example"
    for number, block in enumerate(examples):
        config = tmp_path / f"example{number}.toml"
        config.write_text(block, encoding="utf-8")
        _registry(overrides=load_overrides(config), config_source=str(config))
