"""The form generator: JSON Schema → fields the templates render; a post → typed JSON."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from careflow.access.form_errors import FieldProblem
from plugins.childcare.microwish.forms import ListRevisionForm, ReviewForm, VisitForm
from plugins.engine.delivery import DropoffForm, HandoverForm
from staff_service.console.forms import field_errors, form_fields, parse_form


class Colour(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class Sample(BaseModel):
    count: int = Field(ge=1, le=9, title="数量", description="一到九")
    ratio: float | None = None
    done: bool
    urgent: bool = False
    colour: Colour = Colour.GREEN
    mode: Literal["a", "b", "c", "d", "e"] | None = None
    names: list[str] = Field(default_factory=list)
    ids: list[int] = Field(default_factory=list)
    tags: list[Colour] = Field(default_factory=list)
    on: date | None = None
    note: str = Field(default="", max_length=2000)
    code: str = Field(default="", max_length=16)


def _by_name(schema: dict, **kw) -> dict:
    return {f.name: f for f in form_fields(schema, **kw)}


def test_each_schema_type_gets_its_input() -> None:
    fields = _by_name(Sample.model_json_schema())
    kinds = {name: f.kind for name, f in fields.items()}
    assert kinds == {
        "count": "integer",
        "ratio": "number",
        "done": "yesno",
        "urgent": "checkbox",
        "colour": "radio",
        "mode": "select",
        "names": "lines",
        "ids": "lines",
        "tags": "multi",
        "on": "date",
        "note": "textarea",
        "code": "text",
    }
    count = fields["count"]
    assert count.label == "数量" and count.label_en is None and count.help == "一到九"
    assert count.required and count.attrs == {
        "min": "1",
        "max": "9",
        "step": "1",
        "inputmode": "numeric",
    }
    assert fields["code"].attrs == {"maxlength": "16"}
    assert [(c.value, c.selected) for c in fields["colour"].choices] == [
        ("green", True),
        ("yellow", False),
        ("red", False),
    ]
    assert fields["colour"].choices[0].label == "绿色 green"
    # A nullable select offers "no choice" first, selected.
    assert fields["mode"].choices[0].value == "" and fields["mode"].choices[0].selected
    assert [c.value for c in fields["done"].choices] == ["true", "false"]
    assert not any(c.selected for c in fields["done"].choices)


def test_labels_are_chinese_with_english_beside_for_plugin_forms() -> None:
    visit = _by_name(VisitForm.model_json_schema())
    value = visit["estimated_value_yuan"]
    assert (value.label, value.label_en) == ("估计价值", "Estimated value")
    assert value.help == "单位：元。 In yuan."
    assert value.kind == "integer" and value.attrs["max"] == "100000"
    assert visit["category"].kind == "select"  # seven categories, nullable
    assert visit["category"].choices[1].label == "书包 school_bag"
    # The enum's own title and docstring describe the type, not the question.
    assert (visit["category"].label, visit["category"].label_en) == ("心愿类别", "Category")
    assert visit["category"].help == "不谢绝时必填。 Required unless declined."
    assert visit["guardian_consent"].kind == "checkbox"
    assert visit["guardian_consent"].help == (
        "监护人同意心愿匿名发布。 The guardian agrees to the wish being published anonymised."
    )
    dropoff = _by_name(DropoffForm.model_json_schema())
    assert dropoff["items_match"].kind == "yesno" and dropoff["items_match"].required
    assert dropoff["received"].kind == "checkbox" and dropoff["received"].checked  # default True
    assert dropoff["storage_ref"].kind == "text" and dropoff["note"].kind == "textarea"
    assert _by_name(ListRevisionForm.model_json_schema())["note"].kind == "textarea"


def test_entered_values_and_errors_are_shown_again() -> None:
    posted = {"count": ["12"], "done": ["false"], "names": ["a\nb"], "tags": ["red"]}
    fields = _by_name(
        Sample.model_json_schema(), posted=posted, errors={"count": "不能大于 9 must be at most 9"}
    )
    assert fields["count"].value == "12"
    assert fields["count"].error == "不能大于 9 must be at most 9"
    assert fields["count"].described_by == "f-count-help f-count-error"
    assert fields["ratio"].described_by == ""
    assert [c.selected for c in fields["done"].choices] == [False, True]
    assert fields["names"].value == "a\nb"
    assert [c.value for c in fields["tags"].choices if c.selected] == ["red"]
    # An unticked checkbox is not posted: after a refusal it stays unticked.
    assert fields["urgent"].checked is False


def test_a_post_becomes_the_json_the_schema_declares() -> None:
    schema = Sample.model_json_schema()
    posted = {
        "csrf_token": ["x"],
        "count": [" 3 "],
        "ratio": ["0.5"],
        "done": ["true"],
        "urgent": ["on"],
        "colour": ["red"],
        "mode": [""],
        "names": ["甲\n\n 乙 \n"],
        "ids": ["1\n2"],
        "tags": ["green", "red"],
        "on": ["2026-03-01"],
        "note": [""],
        "code": ["K-1"],
    }
    data = parse_form(schema, posted)
    assert data == {
        "count": 3,
        "ratio": 0.5,
        "done": True,
        "urgent": True,
        "colour": "red",
        "names": ["甲", "乙"],
        "ids": [1, 2],
        "tags": ["green", "red"],
        "on": "2026-03-01",
        "code": "K-1",
    }
    parsed = Sample.model_validate(data)
    assert parsed.count == 3 and parsed.on == date(2026, 3, 1) and parsed.note == ""


def test_what_does_not_convert_is_passed_on_for_the_validation_to_refuse() -> None:
    data = parse_form(Sample.model_json_schema(), {"count": ["三"], "done": ["maybe"]})
    assert data == {"count": "三", "done": "maybe", "urgent": False, "tags": []}
    # Full-width digits are digits.
    assert parse_form(Sample.model_json_schema(), {"count": ["１２"]})["count"] == 12


def test_empty_fields_are_left_out_so_defaults_apply_and_required_ones_are_missing() -> None:
    data = parse_form(HandoverForm.model_json_schema(), {"receipt_ref": [""], "reason": [""]})
    assert data == {}
    review = parse_form(ReviewForm.model_json_schema(), {"approve": ["true"], "priority": ["2"]})
    assert review == {"approve": True, "priority": 2}
    assert ReviewForm.model_validate(review).priority == 2


def test_problems_are_split_by_field_and_by_form() -> None:
    problems = [
        FieldProblem(field="data.count", message="不能大于 9"),
        FieldProblem(field="data.ids.1", message="应为整数"),
        FieldProblem(field="data", message="取值无效 a wish needs a category"),
        {"field": "data.count", "message": "again"},
    ]
    per_field, general = field_errors(problems, names=["count", "ids"])
    assert per_field == {"count": "不能大于 9；again", "ids": "第 2 行 line 2: 应为整数"}
    assert general == ["取值无效 a wish needs a category"]
