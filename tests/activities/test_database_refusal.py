"""A write the database refuses becomes one non-retryable failure without personal data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError

from careflow.db import crud
from careflow.db.engine import session_scope
from worker.interceptors import DATABASE_REFUSED, database_refusal

PHONE = "13800000000"


def _open_task(engine: Engine, *, case_ref: str) -> None:
    with session_scope(engine) as session:
        crud.insert_task(
            session,
            task_id="T1",
            workflow_id="wf-1",
            step_key="dropoff",
            process="delivery",
            module="engine",
            district="yingze",
            community=None,
            case_ref=case_ref,
            role="community_staff",
            title_zh="核对",
            title_en="Check",
            form_ref="x:y",
            form_schema={},
            due_at=datetime(2026, 12, 1, tzinfo=UTC),
        )


def test_value_too_long_on_postgresql_is_final_and_names_no_value(pg_database_url: str) -> None:
    from careflow.db import make_engine

    engine = make_engine(pg_database_url)
    try:
        with pytest.raises(DataError) as refused:
            _open_task(engine, case_ref=PHONE * 20)  # 220 characters for a varchar(128)
    finally:
        engine.dispose()
    failure = database_refusal(refused.value)
    assert failure.type == DATABASE_REFUSED and failure.non_retryable
    assert "value too long for type character varying(128)" in failure.message
    assert PHONE not in failure.message


def test_integrity_error_keeps_the_first_line_only() -> None:
    err = IntegrityError(
        "INSERT INTO person (phone) VALUES (?)",
        {"phone": PHONE},
        Exception(f'duplicate key value violates unique constraint "uq"\nDETAIL: Key={PHONE}'),
    )
    failure = database_refusal(err)
    assert failure.non_retryable and 'violates unique constraint "uq"' in failure.message
    assert PHONE not in failure.message and "INSERT" not in failure.message
