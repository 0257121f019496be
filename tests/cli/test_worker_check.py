"""``careflow start`` refuses a plan the running worker cannot run: exit 2, what to restart."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from careflow.db import crud, make_engine
from careflow.db.engine import session_scope
from careflow.db.types import utcnow
from careflow.settings import Settings
from cli import app
from tests.cli.helpers import assert_bad_input


def test_start_refused_while_a_worker_without_the_plans_plugins_runs(
    runner: CliRunner, tmp_path: Path
) -> None:
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    assert runner.invoke(app, ["seed-demo"]).exit_code == 0
    settings = Settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_scope(engine) as session:
            # A worker started before every plugin of this environment was installed.
            crud.upsert_worker_presence(
                session,
                identity="1@host-old",
                task_queue=settings.task_queue,
                plugins={},
                now=utcnow(),
            )
    finally:
        engine.dispose()
    request = tmp_path / "delivery.json"
    request.write_text(
        json.dumps({"recipient_ref": "P00012", "items": [{"category": "school_bag"}]}),
        encoding="utf-8",
    )

    result = runner.invoke(app, ["start", "delivery", "-d", "wanbailin", "--input", str(request)])

    # Refused before Temporal is reached (nothing listens on the test's Temporal address).
    assert_bad_input(result, "plugins", "no running worker can run this plan", "restart the worker")
