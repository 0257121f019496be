"""People read Asia/Shanghai minutes; the helper is pure and never reads the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from careflow.localtime import local_minute


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 3, 1, 8, 5, 59, 999999, tzinfo=UTC),
        "2026-03-01T08:05:59.999999+00:00",
        "2026-03-01T08:05:33Z",
        datetime(2026, 3, 1, 8, 5, 33),  # naive: careflow's times are UTC
        datetime(2026, 3, 1, 16, 5, tzinfo=timezone(timedelta(hours=8))),
    ],
)
def test_shanghai_to_the_minute(value: datetime | str) -> None:
    assert local_minute(value) == "2026-03-01 16:05"


def test_crosses_midnight_and_keeps_missing() -> None:
    assert local_minute(datetime(2026, 12, 31, 16, 30, tzinfo=UTC)) == "2027-01-01 00:30"
    assert local_minute(None) == "-"
    assert local_minute("", missing="—") == "—"


def test_rejects_what_is_not_a_time() -> None:
    with pytest.raises(ValueError):
        local_minute("tomorrow")
