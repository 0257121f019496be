"""The masking rules of :mod:`careflow.privacy.masking`, one example (or more) per rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careflow.privacy.masking import (
    HIDDEN,
    MASKED_HEALTH,
    Personal,
    mask_address,
    mask_fields,
    mask_id_number,
    mask_item,
    mask_items,
    mask_name,
    mask_phone,
    mask_value,
)
from careflow.task_context import ContextItem


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("张小明", "张*明"),
        ("欧阳小明", "欧**明"),
        ("司马相如", "司**如"),
        ("阿依古丽·买买提", "阿***·**提"),
        ("迪丽热巴・迪力木拉提", "迪***・****提"),
        ("张", "*"),
        ("  张小明 ", "张*明"),
        ("", ""),
    ],
)
def test_names_keep_the_first_and_last_character(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("138 1234 5678", "138 **** 5678"),
        ("+86 13812345678", "+86 138****5678"),
        ("8613812345678", "86138****5678"),
        ("0351-6123456", "0351-***3456"),
        ("(0351)61234567", "(0351)****4567"),
        ("03516123456", "0351***3456"),
        ("010-12345678", "010-****5678"),
        ("02112345678", "021****5678"),
        ("6123456", "***3456"),
        ("12345", "***45"),
        ("110", "***"),
        ("１３８１２３４５６７８", "１３８****５６７８"),
    ],
)
def test_phones_show_only_their_ends(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("id_number", "masked"),
    [
        ("140105195003151234", "**************1234"),
        ("14010519500315123X", "**************123X"),
        ("14010519500315123x", "**************123X"),
        ("1401 0519 5003 1512 34", "**************1234"),
        ("140105500315123", "***********5123"),
        ("1234", "****"),
    ],
)
def test_id_numbers_show_only_the_last_four(id_number: str, masked: str) -> None:
    assert mask_id_number(id_number) == masked


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("九寺社区12号楼3单元1502室", "九寺社区****"),
        ("太原市万柏林区望华街道九寺社区12号楼", "太原市万柏林区望华街道九寺社区****"),
        ("太原市万柏林区望华街道长风街8号", "太原市万柏林区望华街道****"),
        ("太原市小店区坞城路12号", "太原市小店区****"),
        ("太原市万柏林区阳光小区5号楼", "太原市万柏林区****"),
        ("阳光小区5号楼2单元", HIDDEN),
        ("长风街88号", HIDDEN),
        ("山西省", "山西省"),
    ],
)
def test_addresses_keep_only_the_area(address: str, masked: str) -> None:
    assert mask_address(address) == masked


def test_health_values_are_hidden_whole() -> None:
    assert mask_value("health", ["血压 blood pressure 160/95 mmHg", "心率 88/min"]) == MASKED_HEALTH
    assert mask_value("health", 7.8) == MASKED_HEALTH
    assert mask_value("health", None) is None


def test_values_of_every_shape() -> None:
    assert mask_value("name", ["张小明", "李四"]) == ["张*明", "李*"]
    assert mask_value("phone", 13812345678) == "138****5678"
    assert mask_value("address", None) is None


def test_items_are_masked_by_kind_unless_their_kind_is_clear() -> None:
    items = [
        ContextItem(label_zh="老人", label_en="elder", value="张小明", personal="name"),
        ContextItem(label_zh="电话", label_en="phone", value="13812345678", personal="phone"),
        ContextItem(label_zh="读数", label_en="reading", value=["160/95"], personal="health"),
        ContextItem(label_zh="社区", label_en="community", value="九寺社区"),
    ]
    assert [i.value for i in mask_items(items)] == ["张*明", "138****5678", "已隐藏", "九寺社区"]
    assert [i.value for i in mask_items(items, clear={"name", "phone"})] == [
        "张小明",
        "13812345678",
        "已隐藏",
        "九寺社区",
    ]
    # The originals are untouched (items are frozen; masking makes copies).
    assert items[0].value == "张小明" and mask_item(items[3]) is items[3]


def test_a_dict_of_fields_is_masked_by_the_kinds_named() -> None:
    row = {"id": "P00012", "name": "张小明", "phone": "13812345678", "id_number": None}
    kinds: dict[str, Personal] = {"name": "name", "phone": "phone", "id_number": "id_number"}
    assert mask_fields(row, kinds) == {
        "id": "P00012",
        "name": "张*明",
        "phone": "138****5678",
        "id_number": None,
    }
    assert mask_fields(row, kinds, clear={"phone"})["phone"] == "13812345678"
    with pytest.raises(ValueError, match="unknown kinds of personal data: age"):
        mask_fields(row, {"name": "age"})  # type: ignore[dict-item]  # a caller's bad kind


@given(st.from_regex(r"\A[1-9][0-9]{16}[0-9X]\Z"))
def test_no_id_number_shows_more_than_its_last_four(id_number: str) -> None:
    masked = mask_id_number(id_number)
    assert masked == "*" * 14 + id_number[-4:] and id_number[:14] not in masked


@given(st.from_regex(r"\A1[3-9][0-9]{9}\Z"))
def test_no_mobile_number_shows_its_middle_digits(phone: str) -> None:
    masked = mask_phone(phone)
    assert masked == phone[:3] + "****" + phone[-4:]


@given(st.text(max_size=24))
def test_a_phone_shows_at_most_a_country_code_and_seven_digits(phone: str) -> None:
    digits = sum(ch.isdecimal() for ch in phone)
    shown = sum(ch.isdecimal() for ch in mask_phone(phone))
    assert shown <= min(digits, 9)  # a country code (2) + 3 + 4 at most
    assert len(mask_phone(phone)) == len(phone.strip())
