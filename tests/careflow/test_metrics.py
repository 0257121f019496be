"""A worker serves Prometheus metrics: the SDK's own and careflow's counters, codes only."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.metrics import METRIC_DESCRIPTIONS, metrics_url, runtime_for
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from careflow.temporal import connect
from tests.support.inbox import result_of, wait_for_task
from worker.testing import running_worker

REQUEST: dict[str, Any] = {"recipient_ref": "P00020", "items": [{"category": "couplets"}]}

# name{labels} value, as the SDK's exporter writes a sample.
_SAMPLE = re.compile(r"^(?P<name>[a-z_]+)\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of the metric ``name``: its labels (sorted, SDK defaults left out) → value."""
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None or match["name"] != name:
            continue
        labels = dict(_LABEL.findall(match["labels"]))
        for default in ("namespace", "task_queue", "workflow_type", "service_name"):
            labels.pop(default, None)
        found[tuple(sorted(labels.items()))] = float(match["value"])
    return found


async def _scrape(url: str, *, until: str, timeout: float = 10.0) -> str:
    """The metrics page once it holds ``until`` (the exporter reads counters as they are)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while True:
            text = (await http.get(url)).text
            if until in text or time.monotonic() > deadline:
                return text
            await asyncio.sleep(0.2)


async def test_worker_serves_sdk_and_careflow_metrics(
    ts_env: WorkflowEnvironment, engine: Engine, registry: PluginRegistry
) -> None:
    port = _free_port()
    settings = Settings(
        temporal_address=ts_env.client.service_client.config.target_host, metrics_port=port
    )
    url = metrics_url(settings)
    assert url == f"http://127.0.0.1:{port}/metrics"
    client = await connect(settings, runtime=runtime_for(settings))
    async with running_worker(client, registry, engine=engine, settings=settings) as worker:
        started = await service.start_process(
            client,
            registry,
            process="delivery",
            district="jinyuan",
            request=REQUEST,
            started_by="staff:S0002",
            task_queue=worker.task_queue,
            case_ref="K1",
        )
        # The station's scanner answers the drop-off (a routed event), staff the handover.
        await wait_for_task(engine, started.workflow_id, "dropoff")
        await service.route_event(
            client,
            registry,
            event_type="delivery.dropoff",
            data={"district": "jinyuan", "case_ref": "K1", "device_id": "SCAN-1"},
            task_queue=worker.task_queue,
        )
        task = await wait_for_task(engine, started.workflow_id, "handover")
        await service.complete_task(
            client,
            engine,
            task_id=task.task_id,
            actor="S0002",
            role="grid_worker",
            data={"handed_over": True, "receipt_ref": "R-7"},
        )
        await result_of(ts_env, ts_env.client.get_workflow_handle(started.workflow_id))
        text = await _scrape(url, until='process="delivery",outcome="completed"')

    here = {"district": "jinyuan", "process": "delivery"}
    opened = _samples(text, "careflow_tasks_opened_total")
    assert opened == {
        _key(**here, role="community_staff"): 1,
        _key(**here, role="grid_worker"): 1,
    }
    assert _samples(text, "careflow_tasks_completed_total") == {
        _key(**here, role="community_staff", outcome="on_time"): 1,
        _key(**here, role="grid_worker", outcome="on_time"): 1,
    }
    # The delivery starts one child heartbeat; both ran to their end.
    child = {"district": "jinyuan", "process": "sample.heartbeat"}
    assert _samples(text, "careflow_processes_started_total") == {
        _key(**here): 1,
        _key(**child): 1,
    }
    assert _samples(text, "careflow_processes_closed_total") == {
        _key(**here, outcome="completed"): 1,
        _key(**child, outcome="completed"): 1,
    }
    assert _samples(text, "careflow_events_routed_total") == {
        _key(district="jinyuan", event_type="dropoff_recorded", outcome="applied"): 1
    }
    assert _samples(text, "careflow_tasks_escalated_total") == {}
    assert _samples(text, "careflow_tasks_overdue_total") == {}
    # The exact line a scraper reads, the SDK's default labels in their place.
    tq = worker.task_queue
    assert (
        f'careflow_tasks_opened_total{{district="jinyuan",namespace="default",'
        f'process="delivery",role="grid_worker",service_name="temporal-core-sdk",'
        f'task_queue="{tq}",workflow_type="delivery"}} 1'
    ) in text.splitlines()
    # The SDK's own runtime metrics are on the same endpoint.
    for sdk in (
        "temporal_workflow_task_execution_latency_bucket",
        "temporal_workflow_task_queue_poll_succeed",
        "temporal_sticky_cache_size",
        "temporal_worker_task_slots_available",
    ):
        assert re.search(rf"^{sdk}\{{", text, re.MULTILINE), sdk
    # Codes only: no registry id, case ref or case key in any careflow label.
    careflow_lines = [line for line in text.splitlines() if line.startswith("careflow_")]
    assert len(careflow_lines) == 9
    values = {v for line in careflow_lines for _, v in _LABEL.findall(line)}
    assert not [v for v in values if re.search(r"P\d{5}|K1|^k[a-z0-9]{16,}$", v)]
    assert started.workflow_id.rsplit("-", 1)[-1] not in text


async def test_escalations_and_overdue_tasks_are_counted_once_per_level(
    ts_env: WorkflowEnvironment, engine: Engine, registry: PluginRegistry
) -> None:
    port = _free_port()
    settings = Settings(
        temporal_address=ts_env.client.service_client.config.target_host, metrics_port=port
    )
    client = await connect(settings, runtime=runtime_for(settings))
    async with running_worker(client, registry, engine=engine, settings=settings) as worker:
        started = await service.start_process(
            client,
            registry,
            process="delivery",
            district="yingze",
            request=REQUEST,
            started_by="staff:S0002",
            task_queue=worker.task_queue,
        )
        dropoff = await wait_for_task(engine, started.workflow_id, "dropoff")
        await service.complete_task(
            client,
            engine,
            task_id=dropoff.task_id,
            actor="S0002",
            role="community_staff",
            data={"items_match": True},
        )
        await wait_for_task(engine, started.workflow_id, "handover")
        # Nobody hands over: past the 2-day due time it escalates to the community staff,
        # a day later to the district admin (its last level), then it is overdue.
        await ts_env.sleep(timedelta(days=2, minutes=1))
        await wait_for_task(engine, started.workflow_id, "handover", level=1)
        await ts_env.sleep(timedelta(days=1, minutes=1))
        await result_of(ts_env, ts_env.client.get_workflow_handle(started.workflow_id))
        text = await _scrape(
            metrics_url(settings) or "", until='process="delivery",outcome="completed"'
        )

    here = {"district": "yingze", "process": "delivery"}
    assert _samples(text, "careflow_tasks_escalated_total") == {_key(**here, role="grid_worker"): 2}
    assert _samples(text, "careflow_tasks_overdue_total") == {_key(**here, role="grid_worker"): 1}
    assert _samples(text, "careflow_tasks_completed_total") == {
        _key(**here, role="community_staff", outcome="on_time"): 1
    }


def _key(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


@pytest.mark.parametrize("value", ["0", "65536", "http"])
def test_a_bad_metrics_port_is_refused_naming_the_setting(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREFLOW_METRICS_PORT", value)
    with pytest.raises(ValidationError, match="metrics_port"):
        Settings()


def test_no_metrics_port_means_no_exporter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAREFLOW_METRICS_PORT", raising=False)
    settings = Settings()
    assert settings.metrics_port is None
    assert runtime_for(settings) is None
    assert metrics_url(settings) is None


def test_the_dashboard_and_readme_name_only_metrics_careflow_exports() -> None:
    root = Path(__file__).resolve().parents[2]
    dashboard = (root / "docs" / "grafana" / "careflow.json").read_text(encoding="utf-8")
    readme = (root / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"careflow_[a-z_]+_total", dashboard))
    assert named == set(METRIC_DESCRIPTIONS)
    assert set(re.findall(r"`(careflow_[a-z_]+_total)`", readme)) == set(METRIC_DESCRIPTIONS)
