"""The micro-wish carry: typed, and still reading the plain dicts recorded before it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from plugins.childcare.microwish.models import MicroWishCarry, MicroWishPhase

#: The carry of ``tests/histories/childcare_microwish_continued_as_new.json``: a dict with the
#: phase as a string, no ``wave``, a tally from before refusals were counted.
RECORDED = {
    "after_id": 0,
    "ops": [],
    "phase": "deliver",
    "tally": {"accepted": 1, "duplicate": 0, "withdrawn": 0, "late": 0, "withdrawal_refused": 0},
    "window_open": False,
    "closes": "2027-02-28T05:42:55.324000+00:00",
}


def test_a_first_run_starts_open() -> None:
    carry = MicroWishCarry.model_validate({})
    assert carry.phase is MicroWishPhase.OPEN
    assert (carry.after_id, carry.wave, carry.closes, carry.window_open) == (0, 0, None, True)
    assert carry.ops == [] and carry.tally.accepted == 0


def test_the_recorded_dict_shape_parses() -> None:
    carry = MicroWishCarry.model_validate(RECORDED)
    assert carry.phase is MicroWishPhase.DELIVER
    assert carry.closes == datetime(2027, 2, 28, 5, 42, 55, 324000, tzinfo=UTC)
    assert carry.tally.accepted == 1 and not carry.window_open
    assert carry.wave == 0


def test_a_dumped_carry_reads_back_the_same() -> None:
    carry = MicroWishCarry.model_validate({**RECORDED, "wave": 2, "after_id": 17})
    dumped = carry.model_dump(mode="json")
    assert dumped["phase"] == "deliver"  # the same string the dicts held
    assert MicroWishCarry.model_validate(dumped) == carry


def test_an_unknown_phase_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="phase"):
        MicroWishCarry.model_validate({"phase": "shipping"})
