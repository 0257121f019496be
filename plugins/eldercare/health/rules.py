"""Alert rules of the health stations: thresholds and a simple trend, as pure functions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from plugins.eldercare.health.models import HealthRules, Severity

__all__ = ["Measure", "Verdict", "evaluate"]


@dataclass(frozen=True, slots=True)
class Measure:
    """The values of one reading (any may be missing)."""

    systolic: int | None = None
    diastolic: int | None = None
    glucose: float | None = None
    spo2: int | None = None
    heart_rate: int | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The alert a reading raises: a severity and rule codes, or none."""

    severity: Severity | None
    rules: tuple[str, ...]


def _thresholds(m: Measure, r: HealthRules) -> tuple[list[str], list[str]]:
    critical: list[str] = []
    warning: list[str] = []

    def check(code: str, value: float | None, crit: bool, warn: bool) -> None:
        if value is None:
            return
        if crit:
            critical.append(f"{code}_critical")
        elif warn:
            warning.append(code)

    s, d, g, o, h = m.systolic, m.diastolic, m.glucose, m.spo2, m.heart_rate
    if s is not None:
        check("systolic_high", s, s >= r.systolic_critical, s >= r.systolic_high)
        check("systolic_low", s, False, s < r.systolic_low)
    if d is not None:
        check("diastolic_high", d, d >= r.diastolic_critical, d >= r.diastolic_high)
    if g is not None:
        check("glucose_high", g, g >= r.glucose_critical, g >= r.glucose_high)
        check("glucose_low", g, g <= r.glucose_critical_low, g < r.glucose_low)
    if o is not None:
        check("spo2_low", o, o < r.spo2_critical, o < r.spo2_low)
    if h is not None:
        check("heart_rate_high", h, h >= r.heart_rate_critical_high, h > r.heart_rate_high)
        check("heart_rate_low", h, h <= r.heart_rate_critical_low, h < r.heart_rate_low)
    return critical, warning


def _rising(values: Sequence[float], at_least: float) -> bool:
    return all(b > a for a, b in pairwise(values)) and (values[-1] - values[0] >= at_least)


def _trends(history: Sequence[Measure], r: HealthRules) -> list[str]:
    """Trend codes over the last ``trend_window`` readings (oldest first, current last)."""
    found: list[str] = []
    window = r.trend_window
    series: dict[str, list[float]] = {
        "trend_systolic": [float(m.systolic) for m in history if m.systolic is not None][-window:],
        "trend_glucose": [m.glucose for m in history if m.glucose is not None][-window:],
        "trend_spo2": [-float(m.spo2) for m in history if m.spo2 is not None][-window:],
    }
    limits = {
        "trend_systolic": float(r.trend_systolic_rise),
        "trend_glucose": r.trend_glucose_rise,
        "trend_spo2": float(r.trend_spo2_drop),
    }
    for code, values in series.items():
        if len(values) == window and _rising(values, limits[code]):
            found.append(code)
    return found


def evaluate(current: Measure, history: Sequence[Measure], rules: HealthRules) -> Verdict:
    """The alert for ``current`` given the elder's readings ``history`` (ending with it).

    A critical threshold gives a critical alert; any other threshold or a trend (steadily
    rising blood pressure or glucose, steadily falling blood oxygen) gives a warning.
    """
    critical, warning = _thresholds(current, rules)
    trend = _trends(history, rules)
    if critical:
        return Verdict("critical", tuple(critical + warning + trend))
    if warning or trend:
        return Verdict("warning", tuple(warning + trend))
    return Verdict(None, ())
