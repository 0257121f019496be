"""Switch district practices on in a test registry, as a district plugin's programme does.

Curtain checks, tiered care, health stations, pension certification, small dining tables and
the five-thirty classroom are off until a district switches them on. A service module's own
tests switch on the district they run in without loading that district's plugin (its steps
and params are the district plugin's tests' business).
"""

from __future__ import annotations

from careflow.contract import CarePlugin, DistrictProgramme

__all__ = ["switched_on"]


def switched_on(district: str, *processes: str) -> CarePlugin:
    """A plugin whose only content is a programme enabling ``processes`` in ``district``."""
    return CarePlugin(
        name=f"test_programme_{district}",
        version="0.0.0",
        title_zh="测试开通",
        title_en="Test programme",
        programmes=(DistrictProgramme(district=district, enable=frozenset(processes)),),
    )
