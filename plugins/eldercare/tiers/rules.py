"""The grading rules of tiered care: pure, so the workflow can run them deterministically."""

from __future__ import annotations

from dataclasses import dataclass

from plugins.eldercare.tiers.models import Tier, TierRules

__all__ = ["Grade", "GradeFacts", "grade"]


@dataclass(frozen=True, slots=True)
class GradeFacts:
    """Everything a grade depends on."""

    age: int
    disability_level: int
    lives_alone: bool
    health_events: int


@dataclass(frozen=True, slots=True)
class Grade:
    """A tier and the rule codes that gave it (codes only: no values)."""

    tier: Tier
    reasons: tuple[str, ...]


def grade(facts: GradeFacts, rules: TierRules) -> Grade:
    """Red if any red rule holds, else yellow if any yellow rule holds, else green."""
    red = [
        code
        for code, hit in (
            ("disability", facts.disability_level >= rules.red_disability_level),
            ("age", facts.age >= rules.red_age),
            ("lives_alone_old", facts.lives_alone and facts.age >= rules.red_lone_age),
            ("health_events", facts.health_events >= rules.red_health_events),
        )
        if hit
    ]
    if red:
        return Grade(Tier.RED, tuple(red))
    yellow = [
        code
        for code, hit in (
            ("age", facts.age >= rules.yellow_age),
            ("disability", facts.disability_level >= rules.yellow_disability_level),
            ("lives_alone", rules.yellow_if_lives_alone and facts.lives_alone),
            ("health_events", facts.health_events >= rules.yellow_health_events),
        )
        if hit
    ]
    if yellow:
        return Grade(Tier.YELLOW, tuple(yellow))
    return Grade(Tier.GREEN, ())
