"""The catalogue names real tables and columns, every purpose names real processes, and the
JSON scrub keeps statistics while dropping every link to a person."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import UniqueConstraint
from sqlmodel import SQLModel

from careflow.errors import InputError
from careflow.registry import PluginRegistry
from plugins.privacy import RETENTION_PROCESS, RetentionParams, RetentionRequest
from plugins.privacy.catalogue import LINKED, REPORT_FILES, RULES, SOURCES, Value
from plugins.privacy.purposes import PURPOSE_CODES, PURPOSES, purpose_of
from plugins.privacy.scrub import scrub
from plugins.reports import WEEKLY_PROCESS
from tests.support.plugins import BUILT_IN


def _columns(table: str) -> set[str]:
    return set(SQLModel.metadata.tables[table].columns.keys())


def test_every_table_and_column_the_catalogue_names_exists() -> None:
    for source in SOURCES:
        named = {source.workflow, source.district} | ({source.process} - {None})
        assert named <= _columns(source.table), source
        assert (source.process is None) == (source.purpose in PURPOSE_CODES), source
    for rule in RULES:
        assert {rule.key, *rule.set} <= _columns(rule.table), rule
        assert rule.purposes <= set(PURPOSE_CODES), rule
        if rule.action == "delete":
            assert not rule.set, rule
    for linked in LINKED:
        assert {linked.column, *linked.only_if} <= _columns(linked.table)
        assert {linked.via_column, linked.via_key} <= _columns(linked.via)
    assert all(files.purposes <= set(PURPOSE_CODES) for files in REPORT_FILES)


def test_unique_columns_get_a_token_per_row() -> None:
    for rule in RULES:
        table = SQLModel.metadata.tables[rule.table]
        for name, how in rule.set.items():
            column = table.columns[name]
            # Two rows of a case given one token would collide on a key or unique column.
            unique = (
                column.primary_key
                or column.unique
                or any(
                    name in c.columns and len(c.columns) == 1
                    for c in table.constraints
                    if isinstance(c, UniqueConstraint)
                )
            )
            if unique and rule.key != name:
                assert how is Value.ROW_TOKEN, (rule.table, name)


def test_every_purpose_names_processes_that_exist_and_each_process_once() -> None:
    registry = PluginRegistry.build(BUILT_IN)
    named = [process for p in PURPOSES for process in p.processes]
    assert len(named) == len(set(named))
    assert set(named) <= set(registry.processes)
    # Every process that writes case data serves a purpose; the retention run itself does not,
    # nor the weekly report, whose workbook holds counts only.
    unserved = {p for p in registry.processes if purpose_of(p) is None}
    assert unserved == {RETENTION_PROCESS, WEEKLY_PROCESS}


def test_each_purpose_is_a_param_with_its_default() -> None:
    params = RetentionParams()
    assert set(PURPOSE_CODES) <= set(RetentionParams.model_fields)
    for purpose in PURPOSES:
        assert params.period(purpose.code) == purpose.default
    assert params.period("curtain") == timedelta(days=180)
    assert params.run_time == "02:30"


@pytest.mark.parametrize("bad", ["PT0S", "-P1D", "PT12H", "P3661D"])
def test_a_period_under_a_day_or_over_ten_years_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="curtain"):
        RetentionParams.model_validate({"curtain": bad})


def test_a_district_configuration_file_overrides_a_period(tmp_path: Path) -> None:
    registry = PluginRegistry.build(
        BUILT_IN,
        overrides={"xinghualing": {RETENTION_PROCESS: {"curtain": "P30D"}}},
        config_source="districts.toml",
    )
    assert registry.params_for(RETENTION_PROCESS, "xinghualing")["curtain"] == "P30D"
    assert registry.params_for(RETENTION_PROCESS, "wanbailin")["curtain"] == "P180D"
    with pytest.raises(InputError, match="curtian: unknown key, did you mean curtain"):
        PluginRegistry.build(
            BUILT_IN,
            overrides={"xinghualing": {RETENTION_PROCESS: {"curtian": "P30D"}}},
            config_source="districts.toml",
        )


def test_a_request_names_only_known_purposes_once() -> None:
    assert RetentionRequest.model_validate({"purposes": ["health"]}).purposes == ["health"]
    with pytest.raises(ValidationError, match="unknown purpose 'wealth'"):
        RetentionRequest.model_validate({"purposes": ["wealth"]})
    with pytest.raises(ValidationError, match="purposes repeat"):
        RetentionRequest.model_validate({"purposes": ["health", "health"]})
    with pytest.raises(ValidationError, match="extra"):
        RetentionRequest.model_validate({"dryrun": True})


def test_scrub_keeps_numbers_and_codes_and_drops_links_and_text() -> None:
    data = {
        "tier": "red",
        "count": 3,
        "accepted": True,
        "community": "wanbailin.wanghua.jiusi",
        "recipient": "role:grid_worker",
        "elder_ref": "P00001",
        "booking_ref": "gc-0001",
        "workflow_id": "eldercare.tiers-wanbailin-P00001",
        "by": "S0005",
        "note": "老人说腿疼",
        "name": "zhang",
        "holder": "P00002",
        "at": "2026-12-01T08:00:00+00:00",
        "reasons": ["age_80", "lives_alone", "P00003"],
        "nested": {"child_ids": ["P00004"], "size": "m"},
    }
    assert scrub(data) == {
        "tier": "red",
        "count": 3,
        "accepted": True,
        "community": "wanbailin.wanghua.jiusi",
        "recipient": "role:grid_worker",
        "reasons": ["age_80", "lives_alone"],
        "nested": {"size": "m"},
    }
    assert scrub("P00001") is None and scrub(None) is None and scrub([]) == []
