"""Plan-level tests: Wanbailin's steps and programmes, with plugin and version, only there."""

from __future__ import annotations

import pytest

from careflow.registry import PluginRegistry
from plugins.childcare import plugin as childcare_plugin
from plugins.eldercare import plugin as eldercare_plugin
from plugins.engine import plugin as engine_plugin
from plugins.wanbailin import plugin as wanbailin_plugin


@pytest.fixture
def registry() -> PluginRegistry:
    return PluginRegistry.build(
        [engine_plugin, eldercare_plugin, childcare_plugin, wanbailin_plugin]
    )


def test_green_channel_plan(registry: PluginRegistry) -> None:
    plan = registry.resolve_plan("eldercare.green_channel", "wanbailin")
    assert [(s.key, s.point, s.kind.value, s.plugin, s.plugin_version) for s in plan.steps] == [
        ("wanbailin.triage_readings", "before_triage", "activity", "wanbailin", "1.1.0"),
        ("wanbailin.tier_reassessment", "after_discharge", "activity", "wanbailin", "1.1.0"),
    ]
    assert [s.activity for s in plan.steps] == [
        "wanbailin.attach_health_readings",
        "wanbailin.request_tier_reassessment",
    ]


def test_microwish_cosign(registry: PluginRegistry) -> None:
    plan = registry.resolve_plan("childcare.microwish", "wanbailin")
    (step,) = plan.steps
    assert (step.key, step.point, step.plugin, step.plugin_version) == (
        "wanbailin.charity_cosign",
        "before_publication",
        "wanbailin",
        "1.1.0",
    )
    assert step.task is not None and step.task.role == "charity_officer"


def test_programmes_enable_and_set_params(registry: PluginRegistry) -> None:
    for process in (
        "eldercare.tiers",
        "eldercare.health_monitor",
        "eldercare.health_alert",
        "childcare.classroom",
    ):
        assert registry.is_enabled(process, "wanbailin")
        assert registry.resolve_plan(process, "wanbailin").plugins["wanbailin"] == "1.1.0"
    tiers = registry.params_for("eldercare.tiers", "wanbailin")
    assert tiers["yellow_visit_every"] == "P10D" and tiers["red_visit_every"] == "P5D"
    assert registry.params_for("eldercare.tiers", "yingze")["yellow_visit_every"] == "P14D"
    assert registry.params_for("eldercare.health_monitor", "wanbailin")["idle_close"] == "P60D"


@pytest.mark.parametrize("district", ["xinghualing", "yingze", "xiaodian"])
def test_not_in_other_districts(registry: PluginRegistry, district: str) -> None:
    # Tiered care is switched on by Wanbailin's programme only (in this registry).
    assert not registry.is_enabled("eldercare.tiers", district)
    for process in ("eldercare.green_channel", "childcare.microwish"):
        plan = registry.resolve_plan(process, district)
        assert not [s for s in plan.steps if s.plugin == "wanbailin"]
        assert "wanbailin" not in plan.plugins
