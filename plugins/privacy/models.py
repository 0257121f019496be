"""Models of the retention process: its request, params, activity inputs and results.

Pure (no I/O, no clock): the workflow imports them through the sandbox passthrough. Nothing
here carries personal data: a run passes district codes, purpose codes, times, an opaque
ledger cursor and counts, never a case's workflow id or a registry id.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from careflow.inputs import ExternalModel
from careflow.params import MAX_DURATION
from plugins.privacy.purposes import PURPOSE_CODES, PURPOSES

__all__ = [
    "MIN_PERIOD",
    "RETENTION_PROCESS",
    "ActivityNames",
    "Closure",
    "ConsentInput",
    "DiscoverInput",
    "DiscoverResult",
    "NamespaceCheck",
    "NamespaceInput",
    "Period",
    "PurposeCode",
    "PurposeReport",
    "ReportInput",
    "RetentionCarry",
    "RetentionParams",
    "RetentionRequest",
    "RetentionResult",
    "SweepInput",
    "SweepResult",
    "Tally",
]

RETENTION_PROCESS = "privacy.retention"

#: Temporal refuses a namespace retention under one day, and the namespace's must not be
#: longer than the app's: so no app period may be shorter either.
MIN_PERIOD = timedelta(days=1)

#: A retention period: at least a day, at most ten years (as every duration param).
Period = Annotated[timedelta, Field(ge=MIN_PERIOD, le=MAX_DURATION)]


def _known_purpose(code: str) -> str:
    if code not in PURPOSE_CODES:
        raise ValueError(f"unknown purpose {code!r} (known: {', '.join(PURPOSE_CODES)})")
    return code


#: A purpose code of :data:`plugins.privacy.purposes.PURPOSES`.
PurposeCode = Annotated[str, AfterValidator(_known_purpose)]


def _distinct(codes: list[str]) -> list[str]:
    repeated = sorted({c for c in codes if codes.count(c) > 1})
    if repeated:
        raise ValueError(f"purposes repeat: {repeated}")
    return codes


class ActivityNames(StrEnum):
    """The retention activities, called by name."""

    CHECK_NAMESPACE = "privacy.retention.check_namespace"
    DISCOVER = "privacy.retention.discover"
    SWEEP = "privacy.retention.sweep"
    CONSENT = "privacy.retention.consent"
    REPORT = "privacy.retention.report"


class RetentionRequest(ExternalModel):
    """What starts a retention run (the daily schedule passes an empty request)."""

    dry_run: bool = Field(
        default=False,
        title="演练 Dry run",
        description="只统计将删除或匿名化的数量，不做任何修改。 "
        "Count what would be deleted or anonymised; change nothing.",
    )
    purposes: Annotated[list[PurposeCode], AfterValidator(_distinct)] = Field(
        default_factory=list,
        max_length=len(PURPOSES),
        title="处理目的 Purposes",
        description="只处理这些目的；留空为全部。 Only these purposes; empty means all: "
        + ", ".join(PURPOSE_CODES),
    )


def _period(code: str) -> Any:
    # The field of a purpose's period, its default and words from ``PURPOSES``.
    purpose = next(p for p in PURPOSES if p.code == code)
    return Field(
        default=purpose.default,
        title=f"{purpose.title_zh} {purpose.title_en}",
        description=f"结案后保留期限 kept after the case closed: {purpose.why}.",
    )


class RetentionParams(BaseModel):
    """What a district may set: a retention period per purpose, the run's time and batches.

    Periods are ISO 8601 durations in the configuration file (``curtain = "P90D"``).
    """

    microwish: Period = _period("microwish")
    delivery: Period = _period("delivery")
    classroom: Period = _period("classroom")
    dining: Period = _period("dining")
    places: Period = _period("places")
    health: Period = _period("health")
    curtain: Period = _period("curtain")
    green_channel: Period = _period("green_channel")
    tiers: Period = _period("tiers")
    pension: Period = _period("pension")
    festival: Period = _period("festival")
    community_event: Period = _period("community_event")
    run_time: str = Field(
        default="02:30",
        pattern=r"^(?:[01]\d|2[0-3]):[0-5]\d$",
        description="Local time (Asia/Shanghai) of the daily run; sets the schedule's cron.",
    )
    batch_size: int = Field(
        default=100, ge=1, le=500, description="Cases per activity: each is one transaction."
    )
    max_history: int = Field(
        default=2000, ge=100, le=40000, description="Continue as new past this many events."
    )

    def period(self, purpose: str) -> timedelta:
        """The retention period of ``purpose``."""
        value: timedelta = getattr(self, _known_purpose(purpose))
        return value


class Tally(BaseModel):
    """What was (or, in a dry run, would be) done for one purpose.

    ``rows`` counts per ``<table>.<deleted|anonymised>`` (``task.anonymised``,
    ``ec_health_reading.deleted``, ``report_file.deleted``).
    """

    cases: int = 0
    rows: dict[str, int] = Field(default_factory=dict)

    def add(self, other: Tally) -> None:
        """Add ``other`` into this tally."""
        self.cases += other.cases
        for key, count in other.rows.items():
            self.rows[key] = self.rows.get(key, 0) + count
        self.rows = dict(sorted(self.rows.items()))


class Closure(BaseModel):
    """What Temporal says of a case's workflow."""

    state: Literal["running", "closed", "not_found"]
    status: str = Field(description="'running', a close status ('completed' …) or 'not_found'.")
    closed_at: datetime | None = None


class NamespaceInput(BaseModel):
    """Compare the namespace's history retention with the shortest app retention."""

    district: str


class NamespaceCheck(BaseModel):
    """The namespace's history retention against the app's shortest retention period."""

    namespace: str
    retention: timedelta | None = Field(description="None: Temporal keeps histories forever.")
    shortest: timedelta | None = Field(description="None: no purpose is retained anywhere.")
    shortest_where: str = Field(default="", description="'<district>/<purpose>' of it.")
    ok: bool
    message: str


class DiscoverInput(BaseModel):
    """Enter a district's cases into the retention ledger (idempotent: known ones are skipped)."""

    district: str
    purposes: list[str]
    limit: int


class DiscoverResult(BaseModel):
    """How many cases were entered; ``done`` once a call found fewer than its limit."""

    added: int
    done: bool


class SweepInput(BaseModel):
    """One batch of cases: check each with Temporal, retain those closed past their period.

    Attributes:
        run_id: The retention run's workflow id (no personal data: district and a date).
        step_key: Unique per batch within the run; with ``run_id`` the ledger's idempotency key.
        district: The district swept.
        as_of: The run's time (the workflow's clock), the same for every batch.
        cutoffs: Purpose → cases closed at or before this time are retained.
        dry_run: Count only; write nothing.
        limit: At most this many cases.
        phase: ``ledger`` (cases in the ledger), or, in a dry run, ``unlisted`` (cases not yet
            entered, which a real run would enter first).
        cursor: Ledger id after which the batch starts (opaque).
        source: In the ``unlisted`` phase, the index of the table listed.
        offset: In the ``unlisted`` phase, how many of that table's cases were seen.
    """

    run_id: str
    step_key: str
    district: str
    as_of: datetime
    cutoffs: dict[str, datetime]
    dry_run: bool = False
    limit: int
    phase: Literal["ledger", "unlisted"] = "ledger"
    cursor: int = 0
    source: int = 0
    offset: int = 0


class SweepResult(BaseModel):
    """What one batch did, in counts, and where the next batch starts."""

    tallies: dict[str, Tally] = Field(default_factory=dict)
    checked: int = 0
    still_open: int = Field(default=0, description="Running, or with an open task: untouched.")
    waiting: int = Field(default=0, description="Closed, but not yet past the period.")
    phase: Literal["ledger", "unlisted"] = "ledger"
    cursor: int = 0
    source: int = 0
    offset: int = 0
    done: bool = False


class ConsentInput(BaseModel):
    """One batch of closed cases holding data of people whose consent was withdrawn.

    Attributes:
        run_id: As for :class:`SweepInput`.
        step_key: As for :class:`SweepInput`.
        district: The district whose people's withdrawals count.
        as_of: Withdrawals recorded before this time count.
        purposes: Retention purposes the run covers.
        dry_run: Count only; write nothing.
        limit: At most this many (person, case) pairs.
        offset: Pairs to pass over: those this run looked at and left (open cases).
    """

    run_id: str
    step_key: str
    district: str
    as_of: datetime
    purposes: list[str]
    dry_run: bool = False
    limit: int
    offset: int = 0


class PurposeReport(BaseModel):
    """One purpose in a run's result."""

    period: timedelta
    cutoff: datetime
    cases: int = 0
    rows: dict[str, int] = Field(default_factory=dict)


class RetentionCarry(BaseModel):
    """State carried across continue-as-new."""

    as_of: datetime | None = None
    request_id: str = ""
    phase: Literal["check", "discover", "ledger", "unlisted", "consent", "report"] = "check"
    batches: int = 0
    cursor: int = 0
    source: int = 0
    offset: int = 0
    runs: int = 0
    checked: int = 0
    still_open: int = 0
    waiting: int = 0
    tallies: dict[str, Tally] = Field(default_factory=dict)
    consent: dict[str, Tally] = Field(default_factory=dict)
    namespace: NamespaceCheck | None = None


class ReportInput(BaseModel):
    """Write what a run did: one audit row per purpose, idempotent on the request id."""

    run_id: str
    request_id: str
    district: str
    actor: str
    dry_run: bool
    outcome: Literal["accepted", "failed"] = "accepted"
    purposes: dict[str, PurposeReport]
    consent: dict[str, Tally] = Field(default_factory=dict)
    checked: int = 0
    still_open: int = 0
    waiting: int = 0
    namespace: NamespaceCheck | None = None
    problem: str | None = None


class RetentionResult(BaseModel):
    """What a run did, in counts only (the workflow's result, shown in the Temporal UI)."""

    district: str
    dry_run: bool
    as_of: datetime
    purposes: dict[str, PurposeReport]
    consent: dict[str, Tally] = Field(
        default_factory=dict,
        description="Per purpose: what was removed of people whose consent was withdrawn.",
    )
    checked: int
    still_open: int
    waiting: int
    namespace: NamespaceCheck | None = None
    runs: int = 1
