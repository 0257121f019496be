"""The service starts the launcher by name: the name it uses is the one the launcher has."""

from __future__ import annotations

from careflow import service
from careflow.models import LaunchInput
from workflows.launcher import LaunchInput as LauncherInput
from workflows.launcher import ScheduledLaunchWorkflow


def test_schedules_name_the_launcher_as_it_is_registered() -> None:
    # The core may not import the engine, so schedules name the launcher by string.
    definition = getattr(ScheduledLaunchWorkflow, "__temporal_workflow_definition")
    assert definition.name == service.LAUNCH_WORKFLOW
    assert LauncherInput is LaunchInput
