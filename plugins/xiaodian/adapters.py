"""The medical-insurance 医保 benefit interface and its embedded stand-in."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session

from careflow.db import crud

__all__ = ["BenefitStatus", "EmbeddedMedicalInsurance", "MedicalInsuranceAdapter"]


class BenefitStatus(BaseModel):
    """What the medical-insurance bureau says about one insured person."""

    insured: bool
    scheme: str | None = None  # "employee" 职工医保 / "resident" 城乡居民医保
    direct_settlement: bool = False  # 住院直接结算


class MedicalInsuranceAdapter(Protocol):
    """Asks the medical-insurance bureau about an insured person by registry id."""

    def benefit_status(self, person_ref: str) -> BenefitStatus: ...


class EmbeddedMedicalInsurance:
    """Answers from the local registry: every registered resident is insured; pensioners are
    in the employee scheme, others in the resident scheme (a stand-in for the bureau's API)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def benefit_status(self, person_ref: str) -> BenefitStatus:
        with Session(self._engine) as session:
            person = crud.get_person(session, person_id=person_ref)
        if person is None:
            return BenefitStatus(insured=False)
        scheme = "employee" if person.pensioner else "resident"
        return BenefitStatus(insured=True, scheme=scheme, direct_settlement=True)
