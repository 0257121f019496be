"""Festival goods: the request's items, else the district's ``items`` param, else the city's."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from plugins.eldercare.festival import FestivalParams, FestivalRequest
from plugins.eldercare.festival.models import default_items, festival_items

_REQUEST_ITEMS = [{"category": "rice", "description_zh": "大米", "quantity": 2}]
_DISTRICT_ITEMS = [{"category": "couplets", "description_zh": "春联（老少同写）"}]


def _categories(request: dict[str, object], params: dict[str, object]) -> list[str]:
    items = festival_items(
        FestivalRequest.model_validate(request), FestivalParams.model_validate(params)
    )
    return [item.category for item in items]


def test_request_items_win_over_the_district_and_the_city() -> None:
    assert _categories({"items": _REQUEST_ITEMS}, {"items": _DISTRICT_ITEMS}) == ["rice"]
    assert _categories({"items": _REQUEST_ITEMS}, {}) == ["rice"]


def test_district_items_win_over_the_city_default() -> None:
    assert _categories({}, {"items": _DISTRICT_ITEMS}) == ["couplets"]


def test_without_items_anywhere_the_city_default_is_delivered() -> None:
    assert _categories({}, {}) == [item.category for item in default_items()]
    assert _categories({}, {}) == ["couplets", "festival_gift"]


@pytest.mark.parametrize("model", [FestivalRequest, FestivalParams])
def test_items_given_must_name_at_least_one_valid_item(model: type[BaseModel]) -> None:
    validate = model.model_validate
    with pytest.raises(ValidationError, match="at least 1 item"):
        validate({"items": []})
    with pytest.raises(ValidationError, match="category"):
        validate({"items": [{"category": "", "quantity": 1}]})
    with pytest.raises(ValidationError, match="quantity"):
        validate({"items": [{"category": "rice", "quantity": 0}]})
