"""What staff actions, events and schedules do, independent of the CLI that calls it.

Every function validates its input fully before it touches Temporal or the database, so bad
input raises :class:`~careflow.errors.InputError` naming the field and nothing is written.
The CLI, the staff HTTP API and the console are thin layers over these functions (people
reach them through :mod:`careflow.access.actions`, which checks and audits).

One module per job, every name re-exported here (``from careflow import service``):
``starts`` (validate, resolve the plan, key the case, start), ``tasks`` (check and complete
a human task), ``events`` (route an event to its process), ``status`` (what a process is
doing), ``schedules`` (Temporal Schedules from the plugins), ``plugins`` (which running
processes need which plugin versions).
"""

from __future__ import annotations

from careflow.service.events import PreparedEvent, deliver_event, prepare_event, route_event
from careflow.service.plugins import PluginDependency, missing_plugins, plugin_dependencies
from careflow.service.schedules import (
    LAUNCH_WORKFLOW,
    SCHEDULE_PREFIX,
    list_schedules,
    sync_schedules,
)
from careflow.service.starts import (
    PreparedStart,
    StartedProcess,
    new_case_ref,
    prepare_start,
    start_prepared,
    start_process,
)
from careflow.service.status import process_status
from careflow.service.tasks import check_completion, complete_task, submit_completion

__all__ = [
    "LAUNCH_WORKFLOW",
    "SCHEDULE_PREFIX",
    "PluginDependency",
    "PreparedEvent",
    "PreparedStart",
    "StartedProcess",
    "check_completion",
    "complete_task",
    "deliver_event",
    "list_schedules",
    "missing_plugins",
    "new_case_ref",
    "plugin_dependencies",
    "prepare_event",
    "prepare_start",
    "process_status",
    "route_event",
    "start_prepared",
    "start_process",
    "submit_completion",
    "sync_schedules",
]
