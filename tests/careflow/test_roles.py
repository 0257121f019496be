"""Roles are declared by plugins: a module adds its own, the registry checks every use at load."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from careflow.contract import CarePlugin, HumanTaskStep, PluginPart, RoleSpec
from careflow.errors import PluginError
from careflow.plan import EscalationLevel
from careflow.registry import PluginRegistry
from careflow.roles import known_roles, role_spec, role_title, role_title_en
from cli import app
from plugins.engine import ENGINE_ROLES, Role
from plugins.engine import plugin as engine_plugin
from tests.support.sample_plugin import CallForm

REHAB = RoleSpec(name="rehab_officer", title_zh="康复专员", title_en="Rehabilitation officer")


def _step(
    role: str, *, key: str = "rehab.visit", escalation: tuple[str, ...] = ()
) -> HumanTaskStep:
    return HumanTaskStep(
        key=key,
        process="delivery",
        point="after_handover",
        summary_zh="康复随访 rehabilitation visit",
        role=role,
        title_zh="康复随访",
        title_en="Rehabilitation visit",
        form=CallForm,
        due=timedelta(days=1),
        escalation=tuple(EscalationLevel(role=r, due=timedelta(days=1)) for r in escalation),
    )


def _plugin(name: str = "rehab", **fields: object) -> CarePlugin:
    base = CarePlugin(
        name=name, version="1.0", title_zh="康复", title_en="Rehabilitation", order=60
    )
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def test_a_plugin_declares_a_role_its_steps_use_and_staff_read_its_title() -> None:
    registry = PluginRegistry.build(
        [
            engine_plugin,
            _plugin(roles=(REHAB,), steps=(_step("rehab_officer", escalation=("grid_worker",)),)),
        ]
    )
    assert registry.roles["rehab_officer"] == REHAB
    assert registry.role_owner("rehab_officer") is not None
    assert registry.role_owner("rehab_officer").name == "rehab"  # type: ignore[union-attr]
    assert registry.role_owner("grid_worker") is engine_plugin
    assert "rehab_officer" in known_roles()
    assert role_title("rehab_officer") == "康复专员"
    assert role_title_en("rehab_officer") == "Rehabilitation officer"
    assert role_spec("rehab_officer") == REHAB
    plan = registry.resolve_plan("delivery", "wanbailin")
    task = next(s.task for s in plan.steps if s.key == "rehab.visit")
    assert task is not None and task.roles == ["rehab_officer", "grid_worker"]


def test_parts_bring_their_roles_into_the_assembled_plugin() -> None:
    part = PluginPart(roles=(REHAB,), steps=(_step("rehab_officer"),))
    plugin = CarePlugin.assemble(
        name="rehab", version="1.0", title_zh="康复", title_en="Rehabilitation", parts=[part]
    )
    assert tuple(plugin.roles) == (REHAB,)
    assert "rehab_officer" in PluginRegistry.build([engine_plugin, plugin]).roles


def test_the_engine_declares_every_city_wide_role() -> None:
    assert [spec.name for spec in ENGINE_ROLES] == [role.value for role in Role]
    assert tuple(engine_plugin.roles) == ENGINE_ROLES
    PluginRegistry.build([engine_plugin])
    assert role_title(Role.GRID_WORKER) == "网格员"
    assert role_title_en(Role.COMMUNITY_STAFF) == "Community staff"


def test_an_unknown_role_shows_its_code_so_an_old_history_still_reads() -> None:
    assert role_title("retired_role") == "retired_role"
    assert role_title_en("retired_role") == "retired_role"
    assert role_spec("retired_role") is None


def test_a_role_declared_by_two_plugins_is_refused_naming_both() -> None:
    first = _plugin("rehab_a", roles=(REHAB,))
    second = _plugin("rehab_b", roles=(dataclasses.replace(REHAB, title_zh="康复员"),))
    with pytest.raises(PluginError) as caught:
        PluginRegistry.build([engine_plugin, first, second])
    assert caught.value.plugin == "rehab_b"
    assert "role 'rehab_officer' is already declared by 'rehab_a'" in str(caught.value)


def test_a_role_clashing_with_the_engines_is_refused() -> None:
    clash = RoleSpec(name="grid_worker", title_zh="网格长", title_en="Grid leader")
    with pytest.raises(PluginError) as caught:
        PluginRegistry.build([engine_plugin, _plugin(roles=(clash,))])
    assert caught.value.plugin == "rehab"
    assert "role 'grid_worker' is already declared by 'engine'" in str(caught.value)


def test_a_role_declared_twice_by_one_plugin_is_refused() -> None:
    with pytest.raises(PluginError, match="already declared by itself"):
        PluginRegistry.build([engine_plugin, _plugin(roles=(REHAB, REHAB))])


@pytest.mark.parametrize(
    "name",
    [
        "r",
        "Rehab",
        "rehab-officer",
        "rehab officer",
        "_rehab",
        "rehab_",
        "rehab__officer",
        "9ab",
        "a" * 33,
        "康复",
    ],
)
def test_a_badly_named_role_is_refused_naming_the_plugin(name: str) -> None:
    bad = RoleSpec(name=name, title_zh="康复专员", title_en="Rehabilitation officer")
    with pytest.raises(PluginError) as caught:
        PluginRegistry.build([engine_plugin, _plugin(roles=(bad,))])
    assert caught.value.plugin == "rehab"
    assert "role name" in str(caught.value)


def test_a_role_without_titles_is_refused() -> None:
    untitled = RoleSpec(name="rehab_officer", title_zh=" ", title_en="Rehabilitation officer")
    with pytest.raises(PluginError, match="needs a Chinese and an English title"):
        PluginRegistry.build([engine_plugin, _plugin(roles=(untitled,))])


def test_a_step_naming_an_undeclared_role_is_refused_naming_plugin_step_and_role() -> None:
    with pytest.raises(PluginError) as caught:
        PluginRegistry.build([engine_plugin, _plugin(steps=(_step("rehab_officer"),))])
    assert caught.value.plugin == "rehab"
    assert "step 'rehab.visit' names unknown role 'rehab_officer'" in str(caught.value)


def test_an_escalation_to_an_undeclared_role_is_refused() -> None:
    step = _step("grid_worker", escalation=("community_staff", "rehab_officer"))
    with pytest.raises(PluginError) as caught:
        PluginRegistry.build([engine_plugin, _plugin(steps=(step,))])
    assert caught.value.plugin == "rehab"
    assert "step 'rehab.visit' escalation names unknown role 'rehab_officer'" in str(caught.value)


def test_a_process_started_by_an_undeclared_role_is_refused() -> None:
    process = dataclasses.replace(
        engine_plugin.processes[0], id="rehab.course", start_roles=("rehab_officer",)
    )
    with pytest.raises(PluginError) as caught:
        PluginRegistry.build([engine_plugin, _plugin(processes=(process,))])
    assert caught.value.plugin == "rehab"
    assert "process 'rehab.course' start_roles names unknown role 'rehab_officer'" in str(
        caught.value
    )


def test_a_route_sent_by_an_undeclared_role_is_refused() -> None:
    route = dataclasses.replace(
        engine_plugin.routes[0], event_type="rehab.report", sender_roles=("rehab_officer",)
    )
    with pytest.raises(PluginError) as caught:
        PluginRegistry.build([engine_plugin, _plugin(routes=(route,))])
    assert caught.value.plugin == "rehab"
    assert "event route 'rehab.report' sender_roles names unknown role 'rehab_officer'" in str(
        caught.value
    )
    # Declared, the same route loads.
    PluginRegistry.build([engine_plugin, _plugin(roles=(REHAB,), routes=(route,))])


def test_careflow_plugins_lists_the_roles_each_plugin_declares() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["plugins", "--json"])
    assert result.exit_code == 0, result.stderr
    engine = next(p for p in json.loads(result.stdout) if p["name"] == "engine")
    assert {"name": "grid_worker", "title_zh": "网格员", "title_en": "Grid worker"} in engine[
        "roles"
    ]
    text = runner.invoke(app, ["plugins"])
    assert text.exit_code == 0, text.stderr
    assert "角色 roles: grid_worker 网格员 (Grid worker)" in text.stdout
