"""Engine workflows: the process runtime, the shared Delivery process and the launcher."""

from workflows.delivery import DeliveryRequest, DeliveryResult, DeliveryWorkflow
from workflows.launcher import LaunchInput, ScheduledLaunchWorkflow
from workflows.runtime import CareProcess, ProcessStatus, TaskExpired, start_process

__all__ = [
    "CareProcess",
    "DeliveryRequest",
    "DeliveryResult",
    "DeliveryWorkflow",
    "LaunchInput",
    "ProcessStatus",
    "ScheduledLaunchWorkflow",
    "TaskExpired",
    "start_process",
]
