"""PII canaries: run every process type on canary people, then look for them where they may not be.

The demo registry's people are renamed to canaries (names with 金丝雀, phones 1390000xxxx, ID
numbers 14010519500101xxxX, addresses on 金丝雀路) and every process type is started on them,
events are sent, and each open task is answered with a canary note. Then everything that stays
readable outside the encrypted payloads and the app database is searched:

- the raw histories, fetched without the codec: everything but the encrypted payloads'
  ciphertext, with every other payload (readable summaries, search attributes) decoded to the
  text anyone reads (a hit is a leak: an id, a search attribute, a summary, a failure message);
- workflow ids, search attributes, memos, summaries and details of every execution;
- every log line written during the run (structlog events and the standard library's records);
- the CLI's ``--json`` output of ``status`` and ``tasks``;
- report files written under the data dir, and the weekly workbooks stored in the database.

Registry ids (``P00012``) count as personal data in everything but the payloads and the CLI
output (staff with a grant read case refs there).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import os
import re
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from structlog.testing import LogCapture
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
)
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.tables import Person, Provider, Task
from careflow.errors import InputError
from careflow.logging import formatter
from careflow.registry import PluginRegistry
from plugins.reports import ReportFile
from worker.testing import local_environment, running_worker

DISTRICTS = ("wanbailin", "xinghualing", "yingze", "xiaodian")
NOTE = "金丝雀备注：住址金丝雀路"

CANARY = re.compile(r"金丝雀|1390000\d{4}|14010519500101\d{3}X")
REGISTRY_ID = re.compile(r"(?<![A-Za-z0-9])P\d{5}(?![0-9])")

#: Process types started only by another process (not by staff, an event or a schedule).
STARTED_BY_OTHERS = frozenset({"eldercare.health_alert", "childcare.classroom_day"})


@pytest.fixture(scope="module")
async def canary_env() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server of this module's own, so the scan sees only what this run wrote."""
    env = await local_environment()
    try:
        yield env
    finally:
        await env.shutdown()


def _canaries(engine: Engine) -> None:
    """Rename every person of the demo registry to a canary."""
    with Session(engine) as session:
        for n, person in enumerate(session.exec(select(Person).order_by(col(Person.id))).all()):
            person.name = f"金丝雀{n % 1000:03d}"
            person.phone = f"1390000{n % 10000:04d}"
            person.id_number = f"14010519500101{n % 1000:03d}X"
            person.address = f"金丝雀路{n}号"
            session.add(person)
        session.commit()


class _LogTap(logging.Handler):
    """Every standard-library record, formatted as the worker's log handler formats it."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(formatter(use_json=True))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logs() -> Iterator[tuple[LogCapture, _LogTap]]:
    """Capture structlog events and standard-library records written during the test."""
    capture = LogCapture()
    tap = _LogTap()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(tap)
    root.setLevel(logging.DEBUG)
    old = structlog.get_config()
    structlog.configure(processors=[capture], cache_logger_on_first_use=False)
    try:
        yield capture, tap
    finally:
        structlog.configure(**old)
        root.removeHandler(tap)
        root.setLevel(old_level)


def _first(session: Session, *where: Any) -> Person:
    person = session.exec(select(Person).where(*where).order_by(col(Person.id))).first()
    assert person is not None, where
    return person


def _in(district: str) -> Any:
    return col(Person.community_code).startswith(f"{district}.")


def _starts(engine: Engine, district: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(process, request, start options) of a start of every process type in ``district``."""
    today = datetime.now(UTC).date()
    with Session(engine) as session:
        elder = _first(session, _in(district), col(Person.kind) == "elder")
        disabled = _first(
            session, _in(district), col(Person.kind) == "elder", col(Person.disability_level) >= 1
        )
        child = _first(session, _in(district), col(Person.kind) == "child")
        toddler = session.exec(
            select(Person)
            .where(_in(district), col(Person.kind) == "child")
            .order_by(col(Person.birth_date).desc())
        ).first()
        table = session.exec(
            select(Provider).where(
                col(Provider.kind) == "dining_table",
                col(Provider.community_code).startswith(f"{district}."),
            )
        ).first()
    community = elder.community_code
    assert toddler is not None
    starts: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("eldercare.tiers", {"opened_for": "new"}, {"case_ref": elder.id}),
        ("eldercare.green_channel", {"elder_ref": disabled.id, "source": "staff"}, {}),
        ("eldercare.curtain_check", {"elder_ref": elder.id, "day": today.isoformat()}, {}),
        (
            "eldercare.curtain_away",
            {
                "elder_ref": elder.id,
                "away_from": (today + timedelta(days=3)).isoformat(),
                "away_until": (today + timedelta(days=5)).isoformat(),
                "filed_by": "family",
            },
            {},
        ),
        ("eldercare.curtain_round", {"day": today.isoformat()}, {}),
        ("eldercare.pension", {"communities": [community]}, {}),
        ("eldercare.pension_visit", {"elder_ref": elder.id, "year": today.year}, {}),
        ("eldercare.festival", {"communities": [community]}, {}),
        ("eldercare.health_monitor", {"opened_by": "staff"}, {"case_ref": elder.id}),
        ("childcare.classroom_enrolment", {"child_ref": child.id}, {}),
        ("childcare.dining_enrolment", {"child_ref": child.id}, {}),
        ("childcare.places", {"child_ref": toddler.id}, {}),
        (
            "childcare.microwish",
            {"title_zh": "冬季微心愿", "communities": [child.community_code]},
            {},
        ),
        (
            "childcare.classroom",
            {"ends_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()},
            {"community": child.community_code},
        ),
        ("childcare.dining_round", {}, {}),
        ("privacy.retention", {"dry_run": False}, {}),
        ("reports.weekly", {"as_of": (today + timedelta(days=7)).isoformat()}, {}),
        (
            "delivery",
            {
                "recipient_ref": child.id,
                "items": [{"category": "school_bag", "quantity": 1}],
                "purpose": "micro_wish",
            },
            {"community": child.community_code},
        ),
        (
            "community_event",
            {
                "kind": "film_screening",
                "title_zh": "社区电影放映",
                "capacity": 20,
                "starts_at": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
                "duration": "PT2H",
                "max_seats_per_registration": 2,
            },
            {"community": community},
        ),
    ]
    if table is not None:
        starts.append(("childcare.dining_inspection", {"provider_ref": table.id}, {}))
    return starts


def _events(engine: Engine, district: str) -> list[tuple[str, dict[str, Any]]]:
    """Device and partner events on canary people: a critical reading, a curtain report."""
    now = datetime.now(UTC)
    with Session(engine) as session:
        elders = session.exec(
            select(Person)
            .where(_in(district), col(Person.kind) == "elder")
            .order_by(col(Person.id))
            .limit(3)
        ).all()
    return [
        (
            "eldercare.reading",
            {
                "district": district,
                "case_ref": e.id,
                "device_id": "station.01",
                "measured_at": (now - timedelta(minutes=5)).isoformat(),
                "systolic": 188,
                "diastolic": 112,
            },
        )
        for e in elders[1:]
    ]


def _answer(schema: dict[str, Any]) -> dict[str, Any]:
    """A form answer from its JSON schema, with the canary note in every free-text field."""
    defs = schema.get("$defs", {})

    def value(prop: dict[str, Any]) -> Any:
        if "$ref" in prop:
            return value(defs[prop["$ref"].rsplit("/", 1)[-1]])
        for key in ("anyOf", "oneOf"):
            if key in prop:
                options = [p for p in prop[key] if p.get("type") != "null"]
                return value(options[0]) if options else None
        if "enum" in prop:
            return prop["enum"][0]
        if "const" in prop:
            return prop["const"]
        kind = prop.get("type")
        if kind == "string":
            fmt = prop.get("format")
            if fmt == "date":
                return date.today().isoformat()
            if fmt == "date-time":
                return datetime.now(UTC).isoformat()
            if "pattern" in prop:
                return None
            return NOTE[: prop.get("maxLength", len(NOTE))]
        if kind == "boolean":
            return True
        if kind in ("integer", "number"):
            return prop.get("minimum", 1)
        if kind == "array":
            return []
        if kind == "object":
            return _answer(prop)
        return None

    answer: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        got = value(prop)
        if got is not None:
            answer[name] = got
    return answer


async def _answer_open_tasks(
    env: WorkflowEnvironment, engine: Engine, registry: PluginRegistry
) -> int:
    """Complete each open task once with a schema-built answer; the count accepted."""
    with Session(engine) as session:
        tasks = list(
            session.exec(select(Task).where(col(Task.status) == "open").order_by(col(Task.task_id)))
        )
    done = 0
    for task in tasks:
        try:
            await asyncio.wait_for(
                service.complete_task(
                    env.client,
                    engine,
                    task_id=task.task_id,
                    actor="S0001",
                    role=task.role,
                    data=_answer(task.form_schema),
                ),
                timeout=10,
            )
            done += 1
        except (InputError, TimeoutError, Exception):  # a refused answer is fine
            continue
    return done


async def _cli_json(env_vars: dict[str, str], *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        *args,
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env_vars,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, f"careflow {' '.join(args)}: {err.decode()}"
    return out.decode()


_ENCRYPTED = b"binary/encrypted"


def _opened(node: Any) -> Any:
    """``node`` with every payload as anyone without the key reads it: an encrypted payload's
    ciphertext left out (random bytes, whose base64 may spell anything), every other payload's
    data decoded to text, so a readable summary or search attribute is searched as written."""
    if isinstance(node, list):
        return [_opened(item) for item in node]
    if not isinstance(node, dict):
        return node
    metadata = node.get("metadata")
    if isinstance(metadata, dict) and isinstance(node.get("data"), str):
        encoding = base64.b64decode(metadata.get("encoding", ""))
        data = (
            "<ciphertext>"
            if encoding == _ENCRYPTED
            else base64.b64decode(node["data"]).decode("utf-8", "replace")
        )
        return {**node, "metadata": _opened_metadata(metadata), "data": data}
    return {key: _opened(value) for key, value in node.items()}


def _opened_metadata(metadata: dict[str, Any]) -> dict[str, str]:
    return {
        key: base64.b64decode(value).decode("utf-8", "replace") for key, value in metadata.items()
    }


def _as_read(message: Message) -> str:
    """A service answer as JSON, its payloads opened as :func:`_opened` says."""
    return json.dumps(_opened(MessageToDict(message)), ensure_ascii=False)


def _hits(pattern: re.Pattern[str], text: str) -> list[str]:
    """Each distinct hit with the text around it, so a failure shows where it leaked."""
    return sorted(
        {
            f"{m.group(0)} in …{text[max(0, m.start() - 80) : m.end() + 40]}…"
            for m in pattern.finditer(text)
        }
    )[:5]


async def test_no_canary_outside_the_encrypted_payloads(
    canary_env: WorkflowEnvironment,
    seeded_engine: Engine,
    database_url: str,
    full_registry: PluginRegistry,
    tmp_path: Path,
    logs: tuple[LogCapture, _LogTap],
) -> None:
    env, engine, registry = canary_env, seeded_engine, full_registry
    _canaries(engine)
    started: dict[str, str] = {}
    async with running_worker(env.client, registry, engine=engine) as worker:
        for district in DISTRICTS:
            for process, request, options in _starts(engine, district):
                if process in started:
                    continue
                try:
                    run = await service.start_process(
                        env.client,
                        registry,
                        process=process,
                        district=district,
                        request=request,
                        started_by="staff:S0001",
                        task_queue=worker.task_queue,
                        **options,
                    )
                except InputError:
                    continue  # not switched on here, or this district lacks the people
                started[process] = run.workflow_id
            for event_type, data in _events(engine, district):
                try:
                    await service.route_event(
                        env.client,
                        registry,
                        event_type=event_type,
                        data=data,
                        task_queue=worker.task_queue,
                        engine=engine,
                    )
                except InputError:
                    continue
        await asyncio.sleep(3)
        answered = await _answer_open_tasks(env, engine, registry)
        await asyncio.sleep(3)

        cli_env = {
            **os.environ,
            "CAREFLOW_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "CAREFLOW_DATABASE_URL": database_url,
            "CAREFLOW_TASK_QUEUE": worker.task_queue,
            "CAREFLOW_DATA_DIR": str(tmp_path),
        }
        cli_out = [await _cli_json(cli_env, "tasks", "--status", "open")]
        for workflow_id in list(started.values())[:6]:
            cli_out.append(await _cli_json(cli_env, "status", workflow_id))

    ours = {p for p in registry.processes if not p.startswith("sample.")}
    missing = ours - set(started) - STARTED_BY_OTHERS
    assert not missing, f"process types not exercised: {sorted(missing)}"
    assert answered > 0

    client = env.client
    namespace = client.namespace
    readable: dict[str, str] = {}
    executions = [w async for w in client.list_workflows()]
    processes_seen = {w.search_attributes.get("CareProcess", [None])[0] for w in executions}
    assert STARTED_BY_OTHERS & processes_seen, "no process started another"
    for w in executions:
        raw = await client.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace=namespace,
                execution={"workflow_id": w.id, "run_id": w.run_id},
            )
        )
        described = await client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=namespace, execution={"workflow_id": w.id, "run_id": w.run_id}
            )
        )
        readable[f"history {w.id}"] = _as_read(raw)
        readable[f"describe {w.id}"] = _as_read(described)
        readable[f"id {w.id}"] = w.id
    structlog_events, stdlib = logs
    readable["structlog"] = "\n".join(json.dumps(e, default=str) for e in structlog_events.entries)
    readable["stdlib logs"] = "\n".join(stdlib.lines)
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix in {".csv", ".json", ".txt", ".html", ".xlsx"}:
            readable[f"file {path.name}"] = path.read_text(errors="replace")
    with Session(engine) as session:
        workbooks = session.exec(select(ReportFile)).all()
    assert workbooks, "the weekly report stored no workbook"
    for workbook in workbooks:
        book = load_workbook(io.BytesIO(workbook.content), read_only=True)
        readable[f"report file {workbook.id}"] = "\n".join(
            str(cell)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for cell in row
            if cell is not None
        )

    leaks = {
        where: found
        for where, text in readable.items()
        if (found := _hits(CANARY, text) + _hits(REGISTRY_ID, text))
    }
    cli_leaks = [found for text in cli_out if (found := _hits(CANARY, text))]
    assert not leaks, json.dumps(leaks, ensure_ascii=False, indent=1)[:4000]
    assert not cli_leaks, cli_leaks
