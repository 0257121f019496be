"""The elder's family as the registry records it, for the activities of several eldercare units.

The green channel tells the family and the curtain check calls it; both read the same
households, so the read lives here at module level rather than in one of them.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from careflow.db.tables import HouseholdMember

__all__ = ["family_refs"]


def family_refs(session: Session, elder_ref: str) -> list[str]:
    """Registry ids of the people sharing a household with the elder (their family)."""
    households = select(HouseholdMember.household_id).where(HouseholdMember.person_id == elder_ref)
    rows = session.exec(
        select(HouseholdMember.person_id)
        .where(col(HouseholdMember.household_id).in_(households))
        .where(HouseholdMember.person_id != elder_ref)
        .order_by(col(HouseholdMember.person_id))
    ).all()
    return list(dict.fromkeys(rows))
