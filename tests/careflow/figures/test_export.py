"""The district report as a workbook, a long-form CSV and JSON: read back exactly."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from openpyxl.chart import BarChart, LineChart

from careflow.figures import (
    CSV_HEADER,
    Chart,
    Column,
    DistrictFigures,
    Period,
    Section,
    Table,
    report_filename,
    to_csv,
    to_json,
    to_xlsx,
)

# 2026-03-09 07:30 in Shanghai is 23:30 UTC the day before.
GENERATED = datetime(2026, 3, 8, 23, 30, 45, tzinfo=UTC)

CURTAIN = Section(
    key="eldercare.curtain",
    title_zh="每日窗帘检查",
    title_en="Daily curtain check",
    headline=(("观察老人人数", 12), ("未拉开人数", "<3"), ("按时率", 0.75)),
    tables=(
        Table(
            key="daily",
            title_zh="每日检查",
            title_en="Checks per day",
            columns=(
                Column("day", "日期", "Day", kind="date"),
                Column("checks", "检查次数", "Checks", kind="count"),
                Column("elders", "老人人数", "Elders", kind="people"),
                Column("on_time", "按时率", "On time", kind="percent"),
            ),
            rows=[(date(2026, 3, 2), 40, 12, 0.875), (date(2026, 3, 3), 38, "<3", 0.5)],
            chart=Chart(kind="line", x="day", series=("checks",)),
            note_zh="按时：截止前完成",
        ),
        Table(
            key="communities",
            title_zh="各社区",
            columns=(
                Column("community", "社区", kind="text"),
                Column("done", "已完成", kind="count"),
                Column("late", "逾期", kind="count"),
            ),
            rows=[("九四社区", 30, 2), ("杏花社区", 48, 0)],
            chart=Chart(kind="stacked_bar", x="community", series=("done", "late")),
        ),
    ),
)
WISHES = Section(
    key="childcare.microwish",
    title_zh="微心愿",
    title_en="Micro-wishes",
    tables=(
        Table(
            key="wishes",
            title_zh="心愿",
            columns=(Column("community", "社区", kind="text"), Column("n", "心愿数")),
            chart=Chart(kind="bar", x="community", series=("n",)),
        ),
    ),
)
LONG = Section(
    key="test.long",
    title_zh="绿色通道/紧急转介：各街道各社区从受理到送达医院的时长统计（分钟）",
    title_en="Long",
)
FIGURES = DistrictFigures(
    district="wanbailin",
    period=Period(date(2026, 3, 2), date(2026, 3, 8)),
    communities=None,
    sections=(CURTAIN, WISHES, LONG),
)


def test_the_workbook_has_a_cover_and_a_sheet_per_section() -> None:
    book = load_workbook(io.BytesIO(to_xlsx(FIGURES, generated_at=GENERATED)))
    long_name = "绿色通道_紧急转介：各街道各社区从受理到送达医院的时长统计（分"
    assert len(long_name) == 31
    assert book.sheetnames == ["概览", "每日窗帘检查", "微心愿", long_name]
    cover = book["概览"]
    assert [[c.value for c in row] for row in cover.iter_rows(min_row=1, max_row=14)] == [
        ["万柏林区 统计报表", None, None],
        [None, None, None],
        ["区 District", "万柏林区", None],
        ["期间 Period", "2026-03-02 至 2026-03-08", None],
        ["生成时间 Generated", "2026-03-09 07:30", None],
        ["范围 Scope", "全区 whole district", None],
        ["说明 Note", "少于3人显示为<3", None],
        [None, None, None],
        ["板块 Sections", None, None],
        ["每日窗帘检查", "观察老人人数", 12],
        [None, "未拉开人数", "<3"],
        [None, "按时率", 0.75],
        ["微心愿", "暂无数据 no data", None],
        [
            "绿色通道/紧急转介：各街道各社区从受理到送达医院的时长统计（分钟）",
            "暂无数据 no data",
            None,
        ],
    ]
    assert cover["C12"].number_format == "0.0%"


def test_a_section_sheet_keeps_numbers_as_numbers_and_draws_its_charts() -> None:
    sheet = load_workbook(io.BytesIO(to_xlsx(FIGURES, generated_at=GENERATED)))["每日窗帘检查"]
    assert sheet["A1"].value == "每日窗帘检查 Daily curtain check"
    assert [(sheet.cell(r, 1).value, sheet.cell(r, 2).value) for r in (3, 4, 5)] == [
        ("观察老人人数", 12),
        ("未拉开人数", "<3"),
        ("按时率", 0.75),
    ]
    assert sheet["B5"].number_format == "0.0%"
    assert sheet["A7"].value == "每日检查 Checks per day"
    header = [c.value for c in sheet[8]][:4]
    assert header == ["日期", "检查次数", "老人人数", "按时率"]
    assert all(c.font.bold for c in sheet[8][:4])
    day, checks, elders, on_time = sheet[9][:4]
    assert day.value == datetime(2026, 3, 2) and day.number_format == "yyyy-mm-dd"
    assert (checks.value, type(checks.value)) == (40, int)
    assert (elders.value, type(elders.value)) == (12, int)
    assert (on_time.value, on_time.number_format) == (0.875, "0.0%")
    assert [c.value for c in sheet[10][1:4]] == [38, "<3", 0.5]
    assert sheet["C10"].data_type == "s"
    assert sheet["A11"].value == "按时：截止前完成"
    # The next table starts below the first one's chart.
    assert sheet["A24"].value == "各社区"
    assert [c.value for c in sheet[25][:3]] == ["社区", "已完成", "逾期"]
    assert [[c.value for c in sheet[r][:3]] for r in (26, 27)] == [
        ["九四社区", 30, 2],
        ["杏花社区", 48, 0],
    ]
    line, bar = sheet._charts
    assert isinstance(line, LineChart) and len(line.series) == 1
    assert isinstance(bar, BarChart) and bar.grouping == "stacked" and len(bar.series) == 2
    assert sheet.column_dimensions["A"].width >= 12


def test_an_empty_section_has_its_headers_and_says_no_data() -> None:
    book = load_workbook(io.BytesIO(to_xlsx(FIGURES, generated_at=GENERATED)))
    wishes = book["微心愿"]
    assert [c.value for c in wishes[3]] == ["心愿", None]
    assert [c.value for c in wishes[4]] == ["社区", "心愿数"]
    assert wishes["A5"].value == "暂无数据 no data"
    assert wishes._charts == []  # nothing to draw
    long = book.worksheets[3]
    assert long["A3"].value == "暂无数据 no data"


def test_the_csv_has_one_line_per_cell_with_a_bom() -> None:
    data = to_csv(FIGURES)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [
        list(CSV_HEADER),
        ["每日窗帘检查", "概要", "观察老人人数", "数值", "12"],
        ["每日窗帘检查", "概要", "未拉开人数", "数值", "<3"],
        ["每日窗帘检查", "概要", "按时率", "数值", "75.0%"],
        ["每日窗帘检查", "每日检查", "2026-03-02", "检查次数", "40"],
        ["每日窗帘检查", "每日检查", "2026-03-02", "老人人数", "12"],
        ["每日窗帘检查", "每日检查", "2026-03-02", "按时率", "87.5%"],
        ["每日窗帘检查", "每日检查", "2026-03-03", "检查次数", "38"],
        ["每日窗帘检查", "每日检查", "2026-03-03", "老人人数", "<3"],
        ["每日窗帘检查", "每日检查", "2026-03-03", "按时率", "50.0%"],
        ["每日窗帘检查", "各社区", "九四社区", "已完成", "30"],
        ["每日窗帘检查", "各社区", "九四社区", "逾期", "2"],
        ["每日窗帘检查", "各社区", "杏花社区", "已完成", "48"],
        ["每日窗帘检查", "各社区", "杏花社区", "逾期", "0"],
        ["微心愿", "心愿", "暂无数据 no data", "", ""],
        [LONG.title_zh, "", "暂无数据 no data", "", ""],
    ]


def test_the_json_is_machine_readable() -> None:
    document = to_json(FIGURES, generated_at=GENERATED)
    json.dumps(document)  # serialisable as it is
    assert {k: document[k] for k in ("district", "district_zh", "period", "generated_at")} == {
        "district": "wanbailin",
        "district_zh": "万柏林区",
        "period": {
            "start": "2026-03-02",
            "end": "2026-03-08",
            "since": "2026-03-01T16:00:00Z",
            "until": "2026-03-08T16:00:00Z",
        },
        "generated_at": "2026-03-08T23:30:45Z",
    }
    assert document["communities"] is None
    assert document["suppression"] == {"below": 3, "shown_as": "<3", "note_zh": "少于3人显示为<3"}
    curtain, wishes, long = document["sections"]
    assert (curtain["key"], curtain["title_zh"], curtain["title_en"], curtain["empty"]) == (
        "eldercare.curtain",
        "每日窗帘检查",
        "Daily curtain check",
        False,
    )
    assert curtain["headline"] == [
        {"label_zh": "观察老人人数", "value": 12},
        {"label_zh": "未拉开人数", "value": "<3"},
        {"label_zh": "按时率", "value": 0.75},
    ]
    daily = curtain["tables"][0]
    assert daily["columns"][3] == {
        "key": "on_time",
        "title_zh": "按时率",
        "title_en": "On time",
        "kind": "percent",
    }
    assert daily["rows"] == [
        {"day": "2026-03-02", "checks": 40, "elders": 12, "on_time": 0.875},
        {"day": "2026-03-03", "checks": 38, "elders": "<3", "on_time": 0.5},
    ]
    assert daily["chart"] == {"kind": "line", "x": "day", "series": ["checks"]}
    assert (wishes["empty"], wishes["tables"][0]["rows"]) == (True, [])
    assert (long["empty"], long["tables"]) == (True, [])


@pytest.mark.parametrize("extension", ["xlsx", "csv", "json"])
def test_the_file_name_says_district_and_period(extension: str) -> None:
    assert (
        report_filename(FIGURES, extension) == f"report-wanbailin-2026-03-02-2026-03-08.{extension}"
    )


def test_a_street_report_says_how_many_communities_and_sql_decimals_export() -> None:
    from decimal import Decimal

    section = Section(
        key="s",
        title_zh="时长",
        tables=(
            Table(
                key="t",
                title_zh="平均",
                columns=(Column("c", "社区", kind="text"), Column("m", "分钟", kind="minutes")),
                rows=[("九四社区", Decimal("12.5")), ("=SUM(A1)", Decimal("3"))],
            ),
        ),
    )
    figures = DistrictFigures(
        district="wanbailin",
        period=FIGURES.period,
        communities=frozenset({"wanbailin.wanghua.jiusi", "wanbailin.wanghua.a"}),
        sections=(section,),
    )
    book = load_workbook(io.BytesIO(to_xlsx(figures, generated_at=GENERATED)))
    assert book["概览"]["B6"].value == "2 个社区 communities (按授权 within the grants)"
    sheet = book["时长"]
    assert [[c.value for c in sheet[r]] for r in (5, 6)] == [["九四社区", 12.5], ["=SUM(A1)", 3]]
    assert sheet["A6"].data_type == "s"  # text, never a formula
    assert to_json(figures, generated_at=GENERATED)["sections"][0]["tables"][0]["rows"] == [
        {"c": "九四社区", "m": 12.5},
        {"c": "=SUM(A1)", "m": 3},
    ]
    assert to_csv(figures).decode("utf-8-sig").splitlines()[2] == "时长,平均,'=SUM(A1),分钟,3"
