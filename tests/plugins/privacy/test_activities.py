"""The sweep activity retried: each case is retained and counted once, and a failure in the
middle of a case leaves that case as it was."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from careflow.registry import PluginRegistry
from careflow.settings import Settings
from plugins.engine import plugin as engine_plugin
from plugins.privacy import RetentionParams
from plugins.privacy import plugin as privacy_plugin
from plugins.privacy.activities import RetentionActivities
from plugins.privacy.catalogue import Catalogue
from plugins.privacy.models import DiscoverInput, SweepInput
from plugins.privacy.purposes import PURPOSE_CODES
from tests.plugins.privacy.support import (
    DISTRICT,
    canary_hits,
    child,
    elder,
    ledger,
    seed_case,
    snapshot,
)


def _activities(engine: Engine, tmp_path: Path) -> RetentionActivities:
    registry = PluginRegistry.build([engine_plugin, privacy_plugin])
    return RetentionActivities(engine, settings=Settings(data_dir=tmp_path), registry=registry)


def _batch(step: str = "sweep.0", **changes: Any) -> SweepInput:
    now = datetime.now(UTC)
    params = RetentionParams()
    return SweepInput(
        run_id="privacy.retention-wanbailin-T1",
        step_key=step,
        district=DISTRICT,
        as_of=now,
        cutoffs={p: now - params.period(p) for p in PURPOSE_CODES},
        limit=10,
        **changes,
    )


async def test_a_retried_batch_counts_each_case_once(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, tmp_path: Path
) -> None:
    engine = seeded_engine
    cases = [
        seed_case(engine, purpose="health", person=elder(engine), ref="E1"),
        seed_case(engine, purpose="places", person=child(engine), ref="A1"),
    ]
    for case in cases:
        ledger(engine, case)
    activities = _activities(engine, tmp_path)
    env = ActivityEnvironment(client=ts_env.client)

    first = await env.run(activities.sweep, _batch())
    done = snapshot(engine)
    again = await env.run(activities.sweep, _batch())

    assert {p: t.cases for p, t in first.tallies.items()} == {"health": 1, "places": 1}
    assert again.tallies == first.tallies  # the same step: the same count, from the ledger
    assert again.checked == 0  # and nothing left to look at
    assert snapshot(engine) == done
    later = await env.run(activities.sweep, _batch("sweep.1"))
    assert later.tallies == {}


async def test_a_failure_inside_a_case_leaves_it_whole_and_the_retry_finishes(
    ts_env: WorkflowEnvironment,
    seeded_engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = seeded_engine
    health = seed_case(engine, purpose="health", person=elder(engine), ref="E1")
    wishes = seed_case(
        engine,
        purpose="microwish",
        person=child(engine),
        ref="C1",
        reports_dir=tmp_path / "reports",
    )
    for case in (health, wishes):
        ledger(engine, case)
    activities = _activities(engine, tmp_path)
    env = ActivityEnvironment(client=ts_env.client)
    original = Catalogue._apply
    campaign_before = canary_hits(engine, wishes.person, wishes.workflow_id)
    assert {"cw_wish", "task", "case_record", "notification"} <= set(campaign_before)

    def fail_late_in_the_campaign(
        self: Catalogue, session: Any, rule: Any, wf: str, *a: Any, **k: Any
    ) -> int:
        # The campaign's wishes, task and records are already changed in its transaction.
        if wf == wishes.workflow_id and rule.table == "notification":
            raise OperationalError(
                "UPDATE notification SET workflow_id=?", (wf,), Exception("database is locked")
            )
        return original(self, session, rule, wf, *a, **k)

    monkeypatch.setattr(Catalogue, "_apply", fail_late_in_the_campaign)
    with pytest.raises(ApplicationError) as failed:
        await env.run(activities.sweep, _batch())
    # Retried by Temporal; its message (in the log and the history) names no case or person.
    assert failed.value.type == "DatabaseUnavailable" and not failed.value.non_retryable
    assert "database is locked" in failed.value.message
    assert wishes.workflow_id not in str(failed.value) and failed.value.__cause__ is None
    # The health case went first and is done; the campaign is exactly as it was, files too.
    assert canary_hits(engine, health.person, health.workflow_id) == {}
    assert canary_hits(engine, wishes.person, wishes.workflow_id) == campaign_before
    assert len(list((tmp_path / "reports").iterdir())) == 3

    monkeypatch.setattr(Catalogue, "_apply", original)
    retried = await env.run(activities.sweep, _batch())
    assert {p: t.cases for p, t in retried.tallies.items()} == {"health": 1, "microwish": 1}
    assert retried.tallies["microwish"].rows["report_file.deleted"] == 2
    assert canary_hits(engine, wishes.person, wishes.workflow_id) == {}


async def test_discovery_enters_each_case_once(seeded_engine: Engine, tmp_path: Path) -> None:
    engine = seeded_engine
    seed_case(engine, purpose="health", person=elder(engine), ref="E1")
    seed_case(engine, purpose="places", person=child(engine), ref="A1")
    activities = _activities(engine, tmp_path)
    env = ActivityEnvironment()
    listed = DiscoverInput(district=DISTRICT, purposes=list(PURPOSE_CODES), limit=1)
    first = await env.run(activities.discover, listed)
    second = await env.run(activities.discover, listed)
    third = await env.run(activities.discover, listed)
    assert [(r.added, r.done) for r in (first, second, third)] == [
        (1, False),
        (1, False),
        (0, True),
    ]
    other = DiscoverInput(district="yingze", purposes=list(PURPOSE_CODES), limit=10)
    assert (await env.run(activities.discover, other)).added == 0
    only = DiscoverInput(district=DISTRICT, purposes=["curtain"], limit=10)
    assert (await env.run(activities.discover, only)).added == 0
    rows = snapshot(engine)["privacy_retention_case"]
    assert len(rows) == 2
