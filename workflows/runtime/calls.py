"""Calling an activity from a workflow, with the engine's standard timeout and retry.

One helper for every workflow (the runtime's own calls, service modules, districts), so a
call says only what differs from the standard: an activity that reads a page of thousands
of rows gets a longer ``timeout``, one that must not retry forever a ``retry`` of its own.

Deterministic and free of I/O: workflows import it inside the sandbox.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar, overload

from temporalio import workflow
from temporalio.common import RetryPolicy

__all__ = [
    "ENGINE_RETRY",
    "ENGINE_TIMEOUT",
    "TEMPORAL_DEFAULT_RETRY",
    "ActivityRef",
    "run_activity",
]

#: Engine activities are short database writes; retry transient faults, not business errors.
ENGINE_TIMEOUT = timedelta(seconds=30)
ENGINE_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))
TEMPORAL_DEFAULT_RETRY: RetryPolicy | None = None
"""Temporal's own default policy (unbounded attempts, backoff up to 100 s): what calls that
never set a policy had. Kept where they were recorded with it, so their commands stay the
same; new calls take :data:`ENGINE_RETRY`."""

ActivityRef = str | Callable[..., Any]
"""An activity: its registered name (a member of the unit's names enum, so a typo fails at
import) or, for an activity defined in a module without I/O, the ``@activity.defn`` method
itself (``SomeActivities.method``), whose registered name Temporal reads."""

ResultT = TypeVar("ResultT")


@overload
async def run_activity(
    activity: ActivityRef,
    arg: Any,
    *,
    result_type: type[ResultT],
    summary: str | None = None,
    timeout: timedelta = ENGINE_TIMEOUT,
    retry: RetryPolicy | None = ENGINE_RETRY,
    heartbeat: timedelta | None = None,
) -> ResultT: ...


@overload
async def run_activity(
    activity: ActivityRef,
    arg: Any,
    *,
    result_type: None = None,
    summary: str | None = None,
    timeout: timedelta = ENGINE_TIMEOUT,
    retry: RetryPolicy | None = ENGINE_RETRY,
    heartbeat: timedelta | None = None,
) -> Any: ...


async def run_activity(
    activity: ActivityRef,
    arg: Any,
    *,
    result_type: type[Any] | None = None,
    summary: str | None = None,
    timeout: timedelta = ENGINE_TIMEOUT,
    retry: RetryPolicy | None = ENGINE_RETRY,
    heartbeat: timedelta | None = None,
) -> Any:
    """Run one activity and return its result.

    Args:
        activity: The activity, by registered name or by its ``@activity.defn`` method.
        arg: Its one input model (``<Thing>Input``; a few activities from before take a
            plain id).
        result_type: What to convert the result to (a model, ``list[Model]``, ``int``).
        summary: What the UI shows for the call: codes, titles and counts only.
        timeout: Start-to-close timeout of one attempt.
        retry: Retry policy; :data:`TEMPORAL_DEFAULT_RETRY` for Temporal's own.
        heartbeat: Heartbeat timeout, for an activity that reports progress.

    Raises:
        temporalio.exceptions.ActivityError: The activity failed for good (its cause says why).
    """
    # Temporal's overloads take either a name or a typed callable; the union goes as is.
    target: Any = activity
    return await workflow.execute_activity(
        target,
        arg,
        start_to_close_timeout=timeout,
        retry_policy=retry,
        heartbeat_timeout=heartbeat,
        result_type=result_type,
        summary=summary,
    )
