"""``careflow status`` shows every id the process's events need: the green channel's
``booking_ref`` (which hospital events name) once the process has booked a hospital."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.privacy.pseudonyms import case_key
from careflow.registry import PluginRegistry
from cli.process_cmd import _status_lines
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.green_channel import GREEN_CHANNEL_PROCESS
from plugins.eldercare.green_channel.tables import GreenChannelBooking
from plugins.engine import plugin as engine_plugin
from tests.plugins.eldercare.green_channel.support import complete, elder, start
from tests.support.cases import case_ref_of
from tests.support.inbox import wait_for_task
from worker.testing import cli_environment, running_worker, time_skipping_environment


@pytest.fixture
async def own_env() -> AsyncIterator[WorkflowEnvironment]:
    """A server of its own: the green channel leaves timers behind on a shared one."""
    env = await time_skipping_environment()
    try:
        yield env
    finally:
        await env.shutdown()


async def _careflow(env: dict[str, str], *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_status_shows_the_booking_ref_hospital_events_need(
    own_env: WorkflowEnvironment, seeded_engine: Engine, database_url: str
) -> None:
    registry = PluginRegistry.build([engine_plugin, eldercare_plugin])
    engine = seeded_engine
    person = elder(engine, disabled=True)
    async with running_worker(own_env.client, registry, engine=engine) as worker:
        handle = await start(
            own_env, registry, worker.task_queue, GREEN_CHANNEL_PROCESS, {"elder_ref": person.id}
        )
        triage = await wait_for_task(engine, handle.id, "triage")
        await complete(own_env, engine, triage.task_id, "doctor", {"level": "urgent"})
        await wait_for_task(engine, handle.id, "booking.1.response")
        with Session(engine) as session:
            booking = session.exec(
                select(GreenChannelBooking).where(GreenChannelBooking.workflow_id == handle.id)
            ).one()

        info = await service.process_status(
            own_env.client, engine, workflow_id=handle.id, registry=registry
        )
        env = cli_environment(
            registry.plugins,
            CAREFLOW_TEMPORAL_ADDRESS=own_env.client.service_client.config.target_host,
            CAREFLOW_DATABASE_URL=database_url,
        )
        shown = await _careflow(env, "status", handle.id)
        as_json = json.loads(await _careflow(env, "status", handle.id, "--json"))
        await handle.terminate("test finished")

    case_ref = await case_ref_of(own_env.client, handle.id)
    # The id holds the case key; the ids events need name the case ref itself.
    assert info["case_key"] == case_key(case_ref) and handle.id.endswith(info["case_key"])
    assert info["case_ref"] == case_ref
    assert info["ids"] == {
        "district": booking.district,
        "case_ref": case_ref,
        "booking_ref": booking.booking_ref,
        "hospital_ref": booking.hospital_ref,
    }
    assert as_json["ids"] == info["ids"]
    response = next(e for e in info["events"] if e["event_type"] == "eldercare.hospital_response")
    assert {"district", "case_ref", "booking_ref"} <= set(response["needs"])
    assert f"booking_ref={booking.booking_ref}" in shown
    assert f"case_ref={case_ref}" in shown
    assert "事件 event eldercare.hospital_arrival: district, case_ref, booking_ref" in shown


def test_status_lines_leave_out_ids_not_recorded_yet() -> None:
    lines = _status_lines(
        {
            "workflow_id": "w",
            "status": "RUNNING",
            "stage": "triage",
            "process": GREEN_CHANNEL_PROCESS,
            "district": "xinghualing",
            "ids": {"district": "xinghualing", "case_ref": "C1", "booking_ref": None},
            "events": [],
        }
    )
    assert "  事件编号 ids for events: district=xinghualing · case_ref=C1" in lines
