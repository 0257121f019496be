"""Engine workflows: the process runtime and the launcher.

The shared processes (Delivery, community events) live in the engine plugin's package,
``plugins/engine/<process>/``, in the shape of every other process.
"""

from workflows.launcher import LaunchInput, ScheduledLaunchWorkflow
from workflows.runtime import CareProcess, ProcessStatus, TaskExpired, start_process

__all__ = [
    "CareProcess",
    "LaunchInput",
    "ProcessStatus",
    "ScheduledLaunchWorkflow",
    "TaskExpired",
    "start_process",
]
