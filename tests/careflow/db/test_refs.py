"""Registry references in requests and events are checked against the app database."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from careflow.db.refs import check_refs
from careflow.db.tables import CaseRecord, Notification, Task
from careflow.errors import InputError
from careflow.inputs import CASE_REF_MAX, CODE_MAX, REF_MAX, RegistryRef

CHILD = RegistryRef("person", person_kind="child")


def _check(engine: Engine, *refs: tuple[str, RegistryRef, str], district: str) -> None:
    with Session(engine) as session:
        check_refs(session, refs, district=district)


def test_known_refs_of_the_district_pass(seeded_engine: Engine) -> None:
    _check(
        seeded_engine,
        ("recipient_ref", CHILD, "P00353"),
        ("communities.0", RegistryRef("community"), "wanbailin.wanghua.jiusi"),
        ("donor_ref", RegistryRef("donor", in_district=False), "D0002"),
        district="wanbailin",
    )


@pytest.mark.parametrize(
    ("ref", "problem"),
    [
        (("recipient_ref", CHILD, "P99999"), "unknown person 'P99999'"),
        (("recipient_ref", CHILD, "P00001"), "registered as elder, not child"),
        (("recipient_ref", CHILD, "P00357"), "not in district 'wanbailin'"),
        (("communities.1", RegistryRef("community"), "xiaodian.tanghuai.wutong"), "not in"),
        (("communities.1", RegistryRef("community"), "wanbailin.nowhere"), "unknown community"),
        (("communities.1", RegistryRef("community"), "wanbailin"), "unknown community"),
        (("donor_ref", RegistryRef("donor", in_district=False), "P00001"), "unknown donor"),
        (("donor_ref", RegistryRef("donor"), "D0002"), "not in district"),
    ],
)
def test_refs_the_registry_does_not_support_are_refused_naming_the_field(
    seeded_engine: Engine, ref: tuple[str, RegistryRef, str], problem: str
) -> None:
    with pytest.raises(InputError, match=problem) as caught:
        _check(seeded_engine, ref, district="wanbailin")
    assert caught.value.field == ref[0]


def test_boundary_limits_fit_the_columns_they_are_stored_in() -> None:
    """A value accepted at the boundary can always be stored (no retry-forever on a column)."""
    columns = {
        (Task, "case_ref"): CASE_REF_MAX,
        (Task, "community"): CODE_MAX,
        (Task, "district"): CODE_MAX,
        (Task, "completed_by"): REF_MAX,
        (CaseRecord, "case_ref"): CASE_REF_MAX,
        (CaseRecord, "district"): CODE_MAX,
        (Notification, "recipient_ref"): REF_MAX,
        (Notification, "community"): CODE_MAX,
    }
    for (table, column), limit in columns.items():
        length = table.__table__.columns[column].type.length  # type: ignore[attr-defined]
        assert length >= limit, f"{table.__name__}.{column}: {length} < {limit}"
