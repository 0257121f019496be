"""The process runtime every careflow process workflow is built on.

A process workflow subclasses :class:`CareProcess` and calls :meth:`CareProcess.begin` first
in its run method. The base class gives it stages, extension points that run the frozen plan,
human tasks with escalation, notifications, case records, child processes and
continue-as-new, and it owns the ``complete_task`` Update that staff clients call.

Everything here is deterministic: time comes from ``workflow.now()``, ids from
``workflow.uuid4()``, and all I/O happens in activities called by name.

One module per job; :class:`CareProcess` puts them together:

- ``process``: input, stages, current details, the ``status`` query, continue-as-new;
- ``calls``: :func:`run_activity`, every workflow's way to call an activity with the
  engine's standard timeout and retry;
- ``retries``: the runtime's own activities in bounded rounds (stalled and failed steps);
- ``records``: case records and notifications;
- ``tasks``: single and bulk human tasks, escalation, the ``complete_task`` Update;
- ``children``: plan resolution and :func:`start_process` from inside a workflow;
- ``events``: :func:`event_signal`, routed events applied once per event id;
- ``steps``: extension points running the frozen plan's steps;
- ``state``: what the runtime keeps and shows.
"""

from __future__ import annotations

from workflows.runtime.calls import (
    ENGINE_RETRY,
    ENGINE_TIMEOUT,
    TEMPORAL_DEFAULT_RETRY,
    ActivityRef,
    run_activity,
)
from workflows.runtime.children import case_keys, resolve_process, start_process
from workflows.runtime.events import APPLIED_EVENTS_KEPT, AppliedEvents, event_signal
from workflows.runtime.retries import BOUNDED_RETRIES_PATCH, STALL_PAUSE
from workflows.runtime.state import (
    BulkTask,
    OpenTaskView,
    ProcessStatus,
    StepProblem,
    TaskExpired,
)
from workflows.runtime.steps import ExtensionPoints

__all__ = [
    "APPLIED_EVENTS_KEPT",
    "BOUNDED_RETRIES_PATCH",
    "ENGINE_RETRY",
    "ENGINE_TIMEOUT",
    "STALL_PAUSE",
    "TEMPORAL_DEFAULT_RETRY",
    "ActivityRef",
    "AppliedEvents",
    "BulkTask",
    "CareProcess",
    "OpenTaskView",
    "ProcessStatus",
    "StepProblem",
    "TaskExpired",
    "case_keys",
    "event_signal",
    "resolve_process",
    "run_activity",
    "start_process",
]


class CareProcess(ExtensionPoints):
    """Base class of process workflows: the runtime and the ``complete_task`` Update.

    Subclasses are ``@workflow.defn`` classes; the query, the Update and its validator are
    defined by the runtime's parts and inherited.
    """
