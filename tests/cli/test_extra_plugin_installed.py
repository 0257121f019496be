"""A plugin installed beside careflow changes none of the suite's registries.

The README's example plugin (a follow-up call and a counting activity on every Wanbailin
delivery) is installed here as a distribution on ``sys.path`` and on the ``PYTHONPATH`` of
``careflow`` subprocesses. Discovery sees it, so the installation is real; yet the registries
the tests build, the in-process CLI and a ``careflow`` subprocess run with the suite's
environment plan exactly what they did without it, and its module is never imported. Before,
``careflow start delivery --district wanbailin`` from a test planned the extra steps for a
worker that lacked their activity, and the test hung until its timeout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from careflow.registry import PluginRegistry
from cli import app
from tests.support.plugins import BUILT_IN, PLUGINS_ENV

MODULE = "wanbailin_followup"

PLUGIN_SOURCE = """
from datetime import timedelta

from pydantic import BaseModel, Field
from temporalio import activity

from careflow.contract import ActivitySet, ActivityStep, CarePlugin, HumanTaskStep
from careflow.models import StepInput, StepOutput
from careflow.plan import EscalationLevel


class FollowUpCall(BaseModel):
    reached: bool
    satisfied: bool | None = None
    note: str = Field(default="", max_length=200)


class FollowUpActivities:
    def __init__(self, engine: object) -> None:
        self._engine = engine

    @activity.defn(name="wanbailin.count_delivery")
    def count_delivery(self, input: StepInput) -> StepOutput:
        return StepOutput(data={"counted": input.context.case_ref})


plugin = CarePlugin(
    name="wanbailin_followup",
    version="1.0.0",
    title_zh="万柏林区 配送回访",
    title_en="Wanbailin delivery follow-up",
    order=50,
    steps=(
        HumanTaskStep(
            key="wanbailin.followup_call",
            process="delivery",
            point="after_handover",
            districts=frozenset({"wanbailin"}),
            summary_zh="电话回访受助家庭",
            role="community_staff",
            title_zh="电话回访受助家庭",
            title_en="Follow-up call to the family",
            form=FollowUpCall,
            due=timedelta(days=2),
            escalation=(EscalationLevel(role="district_admin", due=timedelta(days=1)),),
        ),
        ActivityStep(
            key="wanbailin.count_delivery",
            process="delivery",
            point="before_close",
            districts=frozenset({"wanbailin"}),
            summary_zh="计入区配送统计",
            activity="wanbailin.count_delivery",
        ),
    ),
    activities=(
        ActivitySet(cls=FollowUpActivities, build=lambda deps: FollowUpActivities(deps.engine)),
    ),
)
"""


@pytest.fixture
def extra_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The README's example installed as a distribution (module + dist-info) on sys.path."""
    site = tmp_path / "site"
    site.mkdir()
    (site / f"{MODULE}.py").write_text(PLUGIN_SOURCE, encoding="utf-8")
    info = site / f"{MODULE}-1.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {MODULE}\nVersion: 1.0.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        f"[careflow.plugins]\n{MODULE} = {MODULE}:plugin\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(site))
    return site


def _careflow(site: Path, *args: str, allow_list: bool = True) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    if not allow_list:
        env.pop(PLUGINS_ENV, None)
    done = subprocess.run(
        [sys.executable, "-m", "cli", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _step_keys(plan: dict[str, object]) -> list[str]:
    steps = plan["steps"]
    assert isinstance(steps, list)
    return [str(step["key"]) for step in steps]


def test_installed_plugin_is_really_discoverable(extra_plugin: Path) -> None:
    # Without the suite's allow-list, careflow loads it: the installation above is real.
    names = [
        p["name"]
        for p in json.loads(_careflow(extra_plugin, "plugins", "--json", allow_list=False))
    ]
    assert MODULE in names


def test_suite_registries_and_cli_ignore_it(
    extra_plugin: Path, full_registry: PluginRegistry, runner: CliRunner
) -> None:
    assert MODULE not in {p.name for p in full_registry.plugins}
    built_in = PluginRegistry.build(BUILT_IN)  # what the CLI loads (no sample plugin)
    expected = [s.key for s in built_in.resolve_plan("delivery", "wanbailin").steps]

    in_process = runner.invoke(app, ["plan", "delivery", "-d", "wanbailin", "--json"])
    assert in_process.exit_code == 0, in_process.stderr
    assert _step_keys(json.loads(in_process.stdout)) == expected
    listed = runner.invoke(app, ["plugins", "--json"])
    assert MODULE not in [p["name"] for p in json.loads(listed.stdout)]

    shown = json.loads(_careflow(extra_plugin, "plan", "delivery", "-d", "wanbailin", "--json"))
    assert _step_keys(shown) == expected
    assert "wanbailin.followup_call" not in expected

    # Never imported: its tables, if it had any, would not reach the schema tests either.
    assert MODULE not in sys.modules
