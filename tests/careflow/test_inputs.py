"""Strict validation of external input: types, unknown fields, sizes, depth, text."""

from __future__ import annotations

from typing import Annotated

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import Field

from careflow.errors import InputError, PayloadError
from careflow.inputs import (
    MAX_DEPTH,
    MAX_ITEMS,
    AreaCode,
    Code,
    ExternalModel,
    Note,
    Ref,
    RegistryRef,
    check_id,
    registry_refs,
    validate_external,
)


class Item(ExternalModel):
    category: Code
    quantity: int = 1


class Request(ExternalModel):
    recipient_ref: Annotated[Ref, RegistryRef("person", person_kind="child")]
    donor_ref: Annotated[Ref, RegistryRef("donor", in_district=False)] | None = None
    communities: list[AreaCode] = Field(default_factory=list)
    items: list[Item]
    note: Note = ""


GOOD = {"recipient_ref": "P00353", "items": [{"category": "school_bag", "quantity": 2}]}


def test_good_input_validates() -> None:
    parsed = validate_external(Request, GOOD, field="input")
    assert parsed.items[0].quantity == 2


@pytest.mark.parametrize("quantity", ["3", True, 3.0])
def test_numbers_are_not_coerced(quantity: object) -> None:
    data = {**GOOD, "items": [{"category": "school_bag", "quantity": quantity}]}
    with pytest.raises(PayloadError) as caught:
        validate_external(Request, data, field="input")
    assert caught.value.field == "input.items.0.quantity"


def test_unknown_fields_are_named() -> None:
    with pytest.raises(PayloadError) as caught:
        validate_external(Request, {**GOOD, "recipent": "x"}, field="input")
    assert caught.value.field == "input.recipent"


@pytest.mark.parametrize(
    "ref", ["", "P 1", "P/1", "P\x001", "P\n1", "\u202eP1", "P" * 33, "\udfff"]
)
def test_ids_are_bounded_and_plain(ref: str) -> None:
    with pytest.raises(InputError) as caught:
        validate_external(Request, {**GOOD, "recipient_ref": ref}, field="input")
    assert caught.value.field == "input.recipient_ref"


def test_free_text_refuses_bidi_and_control_characters_but_keeps_newlines() -> None:
    assert validate_external(Request, {**GOOD, "note": "第一行\n第二行"}, field="input").note
    with pytest.raises(PayloadError) as caught:
        validate_external(Request, {**GOOD, "note": "ok\u202egnp.exe"}, field="input")
    assert caught.value.field == "input.note"


def test_depth_is_bounded_before_validation() -> None:
    deep: object = "x"
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(InputError, match="nested deeper"):
        validate_external(Request, {**GOOD, "communities": deep}, field="input")


def test_lists_and_sizes_are_bounded() -> None:
    many = [{"category": "pen"}] * (MAX_ITEMS + 1)
    with pytest.raises(InputError, match="entries") as caught:
        validate_external(Request, {**GOOD, "items": many}, field="input")
    assert caught.value.field == "input.items"
    with pytest.raises(InputError, match="KiB"):
        validate_external(Request, {**GOOD, "note": "x" * 300_000}, field="input")


def test_registry_refs_are_found_in_nested_and_optional_fields() -> None:
    parsed = validate_external(
        Request,
        {**GOOD, "donor_ref": "D0001", "communities": ["a.b", "c.d"]},
        field="input",
    )
    found = [(where, marker.kind, value) for where, marker, value in registry_refs(parsed)]
    assert found == [
        ("recipient_ref", "person", "P00353"),
        ("donor_ref", "donor", "D0001"),
        ("communities.0", "community", "a.b"),
        ("communities.1", "community", "c.d"),
    ]


def test_check_id_names_the_option() -> None:
    assert check_id("actor", "S0001") == "S0001"
    for bad in ("", " ", "S 1", "x" * 65):
        with pytest.raises(InputError) as caught:
            check_id("actor", bad)
        assert caught.value.field == "actor"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(data=st.dictionaries(st.sampled_from([*GOOD, "note", "x"]), json_values, max_size=5))
def test_any_json_is_either_valid_or_refused_with_a_named_field(data: dict[str, object]) -> None:
    try:
        validate_external(Request, data, field="input")
    except InputError as err:
        assert err.field.startswith("input")
