"""The case-record activity appends each step's event once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from temporalio.testing import ActivityEnvironment

from activities import CaseRecordActivities
from careflow.db import list_case_records, session_scope
from careflow.models import ProcessContext, RecordCaseInput

NOW = datetime(2026, 2, 1, 1, 0, tzinfo=UTC)
CONTEXT = ProcessContext(
    process="childcare.micro_wish",
    module="childcare",
    district="wanbailin",
    community="wanbailin.wanghua.jiusi",
    case_ref="H00012",
    started_by="staff:S0003",
)


def test_retried_record_writes_one_row(any_engine: Engine) -> None:
    acts = CaseRecordActivities(any_engine, clock=lambda: NOW)
    env = ActivityEnvironment()
    visit = RecordCaseInput(
        workflow_id="wf-2",
        step_key="visit",
        context=CONTEXT,
        kind="visited",
        data={"wishes": 2},
    )

    env.run(acts.record_case, visit)
    env.run(acts.record_case, visit)
    env.run(acts.record_case, visit.model_copy(update={"step_key": "review", "kind": "reviewed"}))

    with session_scope(any_engine) as session:
        records = list_case_records(session, workflow_id="wf-2")
    assert [(r.step_key, r.kind, r.data) for r in records] == [
        ("visit", "visited", {"wishes": 2}),
        ("review", "reviewed", {"wishes": 2}),
    ]
    assert {(r.process, r.district, r.case_ref, r.created_at) for r in records} == {
        ("childcare.micro_wish", "wanbailin", "H00012", NOW)
    }
    assert acts.all() == [acts.record_case]
