"""Plan-level tests: Xinghualing's steps appear in order, with plugin and version, only there."""

from __future__ import annotations

import pytest

from careflow.registry import PluginRegistry
from plugins.childcare import plugin as childcare_plugin
from plugins.eldercare import plugin as eldercare_plugin
from plugins.engine import plugin as engine_plugin
from plugins.xinghualing import plugin as xinghualing_plugin


@pytest.fixture
def registry() -> PluginRegistry:
    return PluginRegistry.build(
        [engine_plugin, eldercare_plugin, childcare_plugin, xinghualing_plugin]
    )


def test_green_channel_plan(registry: PluginRegistry) -> None:
    plan = registry.resolve_plan("eldercare.green_channel", "xinghualing")
    assert [(s.key, s.point, s.kind.value, s.plugin, s.plugin_version) for s in plan.steps] == [
        ("xinghualing.family_doctor_notice", "before_triage", "activity", "xinghualing", "1.1.0"),
        ("xinghualing.family_doctor_triage", "before_triage", "human_task", "xinghualing", "1.1.0"),
        ("xinghualing.home_sickbed", "after_discharge", "human_task", "xinghualing", "1.1.0"),
    ]
    assert plan.plugins["xinghualing"] == "1.1.0"
    triage = plan.steps[1].task
    assert triage is not None and triage.role == "doctor"
    assert triage.form_ref == "plugins.xinghualing.forms:FamilyDoctorTriageForm"


def test_places_health_check_before_enrolment(registry: PluginRegistry) -> None:
    plan = registry.resolve_plan("childcare.places", "xinghualing")
    (step,) = plan.steps
    assert (step.key, step.point, step.plugin) == (
        "xinghualing.pre_enrolment_health_check",
        "before_enrolment",
        "xinghualing",
    )
    assert step.task is not None and step.task.role == "doctor"


def test_curtain_enabled(registry: PluginRegistry) -> None:
    for process in ("eldercare.curtain_round", "eldercare.curtain_check"):
        assert registry.is_enabled(process, "xinghualing")
        assert "xinghualing" in registry.resolve_plan(process, "xinghualing").plugins


@pytest.mark.parametrize("district", ["wanbailin", "yingze", "xiaodian"])
def test_not_in_other_districts(registry: PluginRegistry, district: str) -> None:
    for process in ("eldercare.green_channel", "childcare.places"):
        plan = registry.resolve_plan(process, district)
        assert not [s for s in plan.steps if s.plugin == "xinghualing"]
        assert "xinghualing" not in plan.plugins


def test_forms_validate() -> None:
    from pydantic import ValidationError

    from plugins.xinghualing.forms import HomeSickbedForm

    with pytest.raises(ValidationError, match="plan"):
        HomeSickbedForm(eligible=True)
    assert not HomeSickbedForm(eligible=False).plan
