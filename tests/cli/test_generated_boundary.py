"""Generated input at the CLI's start and event boundary: one line and a status, never a crash.

Hypothesis builds payloads from each process's request fields and each event type's fields,
with values of every JSON kind (deep, long, odd text included). Whatever it sends, the CLI
answers with exactly one line on stderr and exit 2 naming a field (or 1 when the payload is
valid and Temporal is unreachable, as it is here), and nothing is written.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import Session, create_engine, select
from typer.testing import CliRunner

from careflow.db.tables import CaseRecord, Notification, Task
from careflow.registry import PluginRegistry
from cli import app

REGISTRY = PluginRegistry.discover()
PROCESSES = sorted(spec.id for spec in REGISTRY.processes.values())
EVENTS = sorted(REGISTRY.routes)

leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=80)
    | st.sampled_from(["P00353", "P99999", "D0001", "wanbailin", "wanbailin.wanghua.jiusi", "3"])
)
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=25,
)


def _payloads(fields: list[str]) -> st.SearchStrategy[Any]:
    keys = st.sampled_from([*fields, "unknown_field"]) if fields else st.text(max_size=8)
    return st.dictionaries(keys, json_values, max_size=len(fields) + 1) | json_values


def _fields(model: type) -> list[str]:
    return sorted(getattr(model, "model_fields", {}))


@pytest.fixture
def seeded(runner: CliRunner) -> str:
    result = runner.invoke(app, ["seed-demo"])
    assert result.exit_code == 0, result.stderr
    import os

    return os.environ["CAREFLOW_DATABASE_URL"]


def _rows(url: str) -> int:
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            return sum(
                session.exec(select(func.count()).select_from(table)).one()
                for table in (Task, CaseRecord, Notification)
            )
    finally:
        engine.dispose()


def _assert_one_line(result: Any) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.exit_code in (1, 2), (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines


@settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_generated_starts_and_events_answer_in_one_line_and_write_nothing(
    runner: CliRunner, seeded: str, data: st.DataObject
) -> None:
    before = _rows(seeded)
    if data.draw(st.booleans(), label="event"):
        event_type = data.draw(st.sampled_from(EVENTS), label="event_type")
        model = REGISTRY.route(event_type).model
        payload = data.draw(_payloads(_fields(model)), label="payload")
        args = ["event", event_type, "--data", "-"]
    else:
        process = data.draw(st.sampled_from(PROCESSES), label="process")
        model = REGISTRY.process(process).request_model
        payload = data.draw(_payloads(_fields(model)), label="payload")
        district = data.draw(st.sampled_from(["wanbailin", "xiaodian", "nowhere"]))
        args = ["start", process, "--district", district, "--input", "-"]
        if data.draw(st.booleans(), label="odd case ref"):
            args += ["--case-ref", data.draw(st.text(min_size=1, max_size=300), label="ref")]
    text = json.dumps(payload, ensure_ascii=data.draw(st.booleans(), label="ascii"))
    result = runner.invoke(app, args, input=text)
    _assert_one_line(result)
    assert _rows(seeded) == before
