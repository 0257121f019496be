"""Temporal Schedules from the plugins' schedule declarations: sync and list them.

A schedule starts the launcher workflow (by its registered name) with a :class:`LaunchInput`,
which resolves the plan of that day and starts the process.
"""

from __future__ import annotations

from typing import Any, Literal

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from careflow.models import LaunchInput
from careflow.readable import Readable
from careflow.registry import PluginRegistry
from careflow.schedule_diff import same_action, same_spec

__all__ = ["LAUNCH_WORKFLOW", "SCHEDULE_PREFIX", "list_schedules", "sync_schedules"]


SCHEDULE_PREFIX = "careflow."
LAUNCH_WORKFLOW = "careflow.scheduled_launch"
"""The registered name of the launcher workflow (``workflows.launcher``) schedules start; named
here, not imported, because the core imports nothing of the engine."""


def _schedule_targets(registry: PluginRegistry) -> dict[str, tuple[str, str, Any]]:
    targets: dict[str, tuple[str, str, Any]] = {}
    from careflow.areas import DISTRICTS

    for _plugin, spec in registry.schedules():
        for district in sorted(spec.districts or DISTRICTS.keys()):
            if registry.is_enabled(spec.process, district):
                targets[f"{SCHEDULE_PREFIX}{spec.id}.{district}"] = (district, spec.process, spec)
    return targets


async def sync_schedules(
    client: Client, registry: PluginRegistry, *, task_queue: str
) -> dict[str, list[str]]:
    """Make Temporal's schedules match the plugins: create, update, delete stale ones.

    Returns:
        Schedule ids by what happened: ``created``, ``updated``, ``unchanged`` (already as
        wanted, not touched) and ``deleted``.
    """
    targets = _schedule_targets(registry)
    existing = {
        s.id async for s in await client.list_schedules() if s.id.startswith(SCHEDULE_PREFIX)
    }
    report: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": [], "deleted": []}
    for schedule_id, (district, process, spec) in sorted(targets.items()):
        schedule = Schedule(
            action=ScheduleActionStartWorkflow(
                LAUNCH_WORKFLOW,
                LaunchInput(
                    schedule_id=schedule_id.removeprefix(SCHEDULE_PREFIX),
                    process=process,
                    district=district,
                    request=dict(spec.request),
                ),
                id=f"launch-{schedule_id.removeprefix(SCHEDULE_PREFIX)}",
                task_queue=task_queue,
                static_summary=Readable(f"定时启动 {spec.title_zh} · {district}"),
            ),
            spec=ScheduleSpec(
                cron_expressions=spec.crons_for(registry.params_for(process, district)),
                time_zone_name=spec.time_zone,
            ),
        )
        # The schedule list comes from visibility, which lags behind creates and deletes:
        # fall back from update to create and back, and treat a vanished schedule as deleted.
        outcome = None
        if schedule_id in existing:
            outcome = await _update_schedule(client, schedule_id, schedule)
        if outcome is not None:
            report[outcome].append(schedule_id)
            continue
        try:
            await client.create_schedule(schedule_id, schedule)
            report["created"].append(schedule_id)
        except ScheduleAlreadyRunningError:
            report[await _update_schedule(client, schedule_id, schedule) or "updated"].append(
                schedule_id
            )
    for schedule_id in sorted(existing - targets.keys()):
        try:
            await client.get_schedule_handle(schedule_id).delete()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        report["deleted"].append(schedule_id)
    return report


async def _update_schedule(
    client: Client, schedule_id: str, schedule: Schedule
) -> Literal["updated", "unchanged"] | None:
    """Replace a schedule's definition unless it already is ``schedule``; None if it is gone."""
    outcome: Literal["updated", "unchanged"] = "updated"

    async def _replace(current: ScheduleUpdateInput) -> ScheduleUpdate | None:
        nonlocal outcome
        have, wanted = current.description.schedule, schedule.action
        if (
            isinstance(wanted, ScheduleActionStartWorkflow)
            and same_spec(have.spec, schedule.spec)
            and await same_action(client.data_converter, have.action, wanted)
        ):
            outcome = "unchanged"  # no update: a paused schedule stays paused, too
            return None
        outcome = "updated"
        return ScheduleUpdate(schedule=schedule)

    try:
        await client.get_schedule_handle(schedule_id).update(_replace)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return outcome


async def list_schedules(client: Client) -> list[dict[str, Any]]:
    """careflow's schedules as Temporal has them."""
    found = []
    async for entry in await client.list_schedules():
        if not entry.id.startswith(SCHEDULE_PREFIX):
            continue
        info = entry.info
        found.append(
            {
                "schedule_id": entry.id,
                "next_action_times": [
                    t.isoformat() for t in (info.next_action_times if info else [])
                ][:3],
                "recent_actions": len(info.recent_actions) if info else 0,
            }
        )
    return sorted(found, key=lambda s: s["schedule_id"])
