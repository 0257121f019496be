"""Pure models of the micro-wish campaign: request, params, events, activity payloads, report.

Workflows import this module through the sandbox passthrough: data shapes and names only.
Payloads carry ids and counts, never wish lists: those stay in the ``cw_`` tables.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from careflow.contract import CareEvent
from careflow.inputs import AreaCode, Code, ExternalModel, Ref, RegistryRef, ShortText
from careflow.params import PositiveDuration

__all__ = [
    "GENDERED_CATEGORIES",
    "MAX_COMMUNITIES",
    "MAX_EXTRA_CHILDREN",
    "MAX_UNITS_PER_PLEDGE",
    "PROCESS_ID",
    "SIZED_CATEGORIES",
    "CampaignOpened",
    "CampaignReport",
    "ChildRef",
    "CommunityLine",
    "ConsentGate",
    "ConsentGateInput",
    "DecideWishInput",
    "DeliveryOrder",
    "DeliveryOutcomeRow",
    "MatchInput",
    "MatchSummary",
    "MicroWishActivity",
    "MicroWishCarry",
    "MicroWishParams",
    "MicroWishPhase",
    "MicroWishRequest",
    "OpenCampaignInput",
    "PageInput",
    "PledgeEvent",
    "PledgeOp",
    "PledgeOpsInput",
    "PledgeRefusal",
    "PledgeTally",
    "PledgeWithdrawnEvent",
    "ProcurementInput",
    "ProcurementPlan",
    "ProcurementVerdict",
    "PublicationVerdict",
    "PublishSummary",
    "RecordDeliveriesInput",
    "RecordVisitInput",
    "ReportInput",
    "VisitRef",
    "WishCategory",
    "WishList",
    "WishListInput",
    "WishVerdict",
    "WithdrawChildInput",
    "WithdrawnWishes",
    "WithholdInput",
    "WithholdSummary",
]

PROCESS_ID = "childcare.microwish"


class WishCategory(StrEnum):
    """What a child may wish for; the categories the charity association stocks."""

    SCHOOL_BAG = "school_bag"
    STATIONERY = "stationery"
    BOOKS = "books"
    WINTER_COAT = "winter_coat"
    SHOES = "shoes"
    SPORTS = "sports"
    DESK_LAMP = "desk_lamp"


SIZED_CATEGORIES = frozenset({WishCategory.WINTER_COAT, WishCategory.SHOES})
"""Categories where size matters: a pledge must carry the same size."""

GENDERED_CATEGORIES = frozenset({WishCategory.WINTER_COAT})
"""Categories whose published wish shows the child's gender (the cut of a coat); no other
published row does, so gender does not help anyone tell whose wish it is."""

MAX_UNITS_PER_PLEDGE = 50
"""The most units of one item one goods pledge may offer. The service also bounds a pledge by
the open wishes of its item in the campaign (see ``plugins.childcare.microwish.checks``)."""

MAX_COMMUNITIES = 200
"""The most communities one campaign request may name (a district has fewer)."""

MAX_EXTRA_CHILDREN = 200
"""The most children staff may add by hand to one campaign."""

ChildRef = Annotated[Ref, RegistryRef("person", person_kind="child")]
"""A registry id of a child of the request's district."""


class MicroWishActivity(StrEnum):
    """Names of the micro-wish activities, called by name from the workflow."""

    OPEN = "childcare.microwish.open_campaign"
    VISITS = "childcare.microwish.visit_page"
    RECORD_VISIT = "childcare.microwish.record_visit"
    DECIDE = "childcare.microwish.decide_wish"
    PREPARE_LIST = "childcare.microwish.prepare_list"
    WITHHOLD = "childcare.microwish.withhold"
    PUBLISH = "childcare.microwish.publish"
    PLEDGES = "childcare.microwish.apply_pledges"
    MATCH = "childcare.microwish.match"
    PROCUREMENT = "childcare.microwish.plan_procurement"
    PROCURED = "childcare.microwish.record_procurement"
    DELIVERIES = "childcare.microwish.delivery_page"
    DELIVERED = "childcare.microwish.record_deliveries"
    REPORT = "childcare.microwish.write_report"
    CONSENT_GATE = "childcare.microwish.consent_gate"
    CONSENT_WITHDRAWN = "childcare.microwish.consent_withdrawn"


class MicroWishRequest(ExternalModel):
    """What starts a campaign: where, and which children staff add by hand (补录).

    Every community must be a community of the request's district and every added child a
    child of the registry in that district; the service refuses the start otherwise, naming
    the entry (``input.communities.1``, ``input.extra_children.0``).
    """

    title_zh: ShortText = Field(
        default="微心愿",
        max_length=64,
        title="活动名称 Title",
        description="微心愿活动的名称。 Campaign title.",
    )
    communities: list[AreaCode] = Field(
        default_factory=list,
        max_length=MAX_COMMUNITIES,
        title="社区 Communities",
        description="社区代码，每行一个；留空为全区。 "
        "Community codes; empty means the whole district.",
    )
    extra_children: list[ChildRef] = Field(
        default_factory=list,
        max_length=MAX_EXTRA_CHILDREN,
        title="补录儿童 Added children",
        description="工作人员在登记筛选之外补录的儿童编号（P…），每行一个。 "
        "Registry ids (P…) of children staff add outside the registry selection.",
    )


class MicroWishParams(BaseModel):
    """What a district may set for its campaigns (all deadlines relative to the start)."""

    min_age: int = Field(default=6, ge=0, le=17)
    max_age: int = Field(default=14, ge=0, le=17)
    eligibility_date: date | None = Field(
        default=None, description="Ages are counted on this day (资格认定日); the start by default."
    )
    value_cap_yuan: int = Field(default=300, ge=1, description="Highest estimated wish value.")
    visit_due: PositiveDuration = timedelta(days=5)
    visit_escalation_due: PositiveDuration = timedelta(days=3)
    review_due: PositiveDuration = timedelta(days=3)
    review_escalation_due: PositiveDuration = timedelta(days=2)
    max_review_rounds: int = Field(default=2, ge=1, le=5)
    publication_rounds: int = Field(
        default=2,
        ge=1,
        le=5,
        description="Sign-off rounds before publication when a district step refuses the list.",
    )
    publication_revision_due: PositiveDuration = timedelta(days=3)
    pledge_window: PositiveDuration = timedelta(days=14)
    fairness_slack: float = Field(
        default=0.2, ge=0, le=1, description="How far a community's fill rate may trail."
    )
    procurement_budget_yuan: int = Field(default=5000, ge=0)
    procurement_due: PositiveDuration = timedelta(days=7)
    final_deadline_grace: PositiveDuration = Field(
        default=timedelta(days=3), description="After procurement escalates; then declined."
    )
    delivery_due: PositiveDuration = timedelta(days=14)
    visit_wave: int = Field(default=200, ge=1, description="Visits open at once.")
    delivery_wave: int = Field(default=300, ge=1, description="Deliveries started at once.")
    max_history: int = Field(default=20000, ge=10, description="Continue as new past this.")

    @model_validator(mode="after")
    def _age_range(self) -> MicroWishParams:
        # An empty age range silently selects no child at all.
        if self.min_age > self.max_age:
            raise ValueError(f"min_age {self.min_age} is above max_age {self.max_age}")
        return self


class PledgeEvent(CareEvent):
    """A donor pledges goods or money to a campaign (``case_ref`` is the campaign's).

    The donor must be in the donor registry (any district: donors give across the city); the
    drop-off must be a community of the campaign's district. A goods pledge offers at most
    :data:`MAX_UNITS_PER_PLEDGE` units and, checked against the database, no more than the
    campaign has open published wishes of that item.
    """

    pledge_ref: Code = Field(description="The pledge's own id, unique in the campaign.")
    donor_ref: Annotated[Ref, RegistryRef("donor", in_district=False)] = Field(
        max_length=16, description="Registry id (D…)."
    )
    kind: Literal["goods", "money"] = "goods"
    category: WishCategory | None = None
    size: Code | None = Field(default=None, max_length=16)
    quantity: int = Field(default=0, ge=0, le=MAX_UNITS_PER_PLEDGE)
    amount_yuan: int = Field(default=0, ge=0, le=1_000_000)
    dropoff: AreaCode | None = Field(default=None, description="Community code.")

    @model_validator(mode="after")
    def _goods_or_money(self) -> PledgeEvent:
        if self.kind == "goods":
            if self.category is None or self.quantity < 1 or not self.dropoff:
                raise ValueError("a goods pledge needs category, quantity ≥ 1 and dropoff")
            if self.category in SIZED_CATEGORIES and not self.size:
                raise ValueError(f"a {self.category.value} pledge needs a size")
        elif self.amount_yuan < 1:
            raise ValueError("a money pledge needs amount_yuan ≥ 1")
        return self


class PledgeWithdrawnEvent(CareEvent):
    """A donor withdraws an active pledge; honoured only while the pledge window is open."""

    pledge_ref: Code


class PledgeOp(BaseModel):
    """A pledge or a withdrawal, in arrival order."""

    op: Literal["pledge", "withdraw"]
    pledge: PledgeEvent | None = None
    pledge_ref: str
    at: datetime


class PledgeOpsInput(BaseModel):
    """Pledge signals to store; ``window_open`` false marks them late."""

    campaign_id: str
    ops: list[PledgeOp]
    window_open: bool


class PledgeRefusal(BaseModel):
    """A pledge or withdrawal the process refused, for the case record (ids and a code)."""

    op: Literal["pledge", "withdraw"]
    pledge_ref: str
    reason: str = Field(description="A code: not_published, duplicate_ref, late, …")


class PledgeTally(BaseModel):
    """What storing pledge signals did; ``refusals`` lists this batch's refusals only."""

    accepted: int = 0
    duplicate: int = 0
    withdrawn: int = 0
    late: int = 0
    withdrawal_refused: int = 0
    refused: int = 0
    refusals: list[PledgeRefusal] = Field(default_factory=list)


class MicroWishPhase(StrEnum):
    """Where a campaign is; the run resumes there after continue-as-new."""

    OPEN = "open"
    VISIT = "visit"
    PUBLISH = "publish"
    PLEDGE = "pledge"
    MATCH = "match"
    PROCURE = "procure"
    DELIVER = "deliver"
    REPORT = "report"


class MicroWishCarry(BaseModel):
    """What a campaign carries across continue-as-new: its phase, its cursor, its pledges.

    Every field has a default, so the empty carry of a first run and the plain dicts of runs
    recorded before this model (the same keys, some absent) parse as they are.
    """

    phase: MicroWishPhase = MicroWishPhase.OPEN
    after_id: int = Field(
        default=0, ge=0, description="The last wish of the wave done; the next page follows it."
    )
    wave: int = Field(default=0, ge=0, description="Delivery waves run so far.")
    closes: datetime | None = Field(
        default=None, description="When the pledge window closes; set at publication."
    )
    tally: PledgeTally = Field(default_factory=PledgeTally)
    window_open: bool = True
    ops: list[PledgeOp] = Field(
        default_factory=list, description="Pledge signals that arrived after the last flush."
    )


class OpenCampaignInput(BaseModel):
    """Create the campaign row and one wish row per eligible child."""

    campaign_id: str
    district: str
    case_ref: str
    communities: list[str]
    extra_children: list[str]
    min_age: int
    max_age: int
    eligibility_date: date | None = None
    budget_yuan: int
    opened_at: datetime


class CampaignOpened(BaseModel):
    """How many visits the campaign needs."""

    wishes: int
    communities: int


class PageInput(BaseModel):
    """A page of rows after ``after_id``."""

    campaign_id: str
    after_id: int = 0
    limit: int = 200


class VisitRef(BaseModel):
    """A visit the workflow opens a task for: ids and a community code only."""

    wish_id: int
    child_ref: str = Field(description="Registry id (P…), so the grid worker finds the home.")
    community: str


class ConsentGateInput(BaseModel):
    """Check the guardian's consent of the children of a page of visits before any is opened."""

    campaign_id: str
    wish_ids: list[int]
    on: date


class ConsentGate(BaseModel):
    """The visits not opened for want of consent (their wishes are now ``rejected``)."""

    refused: list[VisitRef] = Field(default_factory=list)


class WithdrawChildInput(BaseModel):
    """End a child's wishes in a campaign: the guardian withdrew the micro-wish consent."""

    campaign_id: str
    child_ref: str
    at: datetime


class WithdrawnWishes(BaseModel):
    """The child's wishes the withdrawal ended, and those already in delivery."""

    wishes: list[VisitRef] = Field(default_factory=list)
    in_delivery: list[int] = Field(default_factory=list)


class RecordVisitInput(BaseModel):
    """Store a visit form on its wish, with the verdict of the rules."""

    wish_id: int
    actor: str
    data: dict[str, object]
    status: str
    reason: str | None = None
    at: datetime


class DecideWishInput(BaseModel):
    """Staff's review decision; approval is checked against one wish per child."""

    wish_id: int
    actor: str | None
    approve: bool
    priority: int = 1
    reason: str | None = None
    at: datetime


class WishVerdict(BaseModel):
    """Where a wish ended after a decision."""

    wish_id: int
    status: str
    reason: str | None = None


class WishListInput(BaseModel):
    """Prepare the anonymised list of approved wishes for a sign-off round."""

    campaign_id: str
    round: int = Field(ge=1)
    at: datetime


class WishList(BaseModel):
    """The list a district signs before publication: a count and where the file is."""

    approved: int
    path: str


class PublicationVerdict(BaseModel):
    """What a step at ``before_publication`` may answer; other keys of its output are kept.

    A step that says nothing about publication (an activity returning other data) leaves the
    list as it is. An expired sign-off task is a refusal: the list was not signed.
    """

    publish: bool = True
    withheld_wish_ids: list[int] = Field(default_factory=list)
    reason: str = ""
    expired: bool = False

    @property
    def refused(self) -> bool:
        return self.expired or not self.publish


class WithholdInput(BaseModel):
    """Keep approved wishes out of the pool (``wish_ids`` empty with ``all_approved``)."""

    campaign_id: str
    wish_ids: list[int] = Field(default_factory=list)
    all_approved: bool = False
    reason: str = Field(max_length=64)
    at: datetime


class WithholdSummary(BaseModel):
    """Wishes withheld, and ids that were not approved wishes of the campaign."""

    withheld: int
    ignored: list[int] = Field(default_factory=list)


class PublishSummary(BaseModel):
    """Wishes published to the pool."""

    published: int


class MatchInput(BaseModel):
    """Match a campaign's wishes and pledges."""

    campaign_id: str
    fairness_slack: float = 0.2
    at: datetime


class MatchSummary(BaseModel):
    """What matching did (counts only)."""

    wishes: int
    pledged_units: int
    matched: int
    unmatched: int
    weight: int
    distance_m: int
    fairness_floor: float
    solve_seconds: float


class ProcurementInput(BaseModel):
    """Plan procurement of unmatched wishes within the budget."""

    campaign_id: str
    at: datetime


class ProcurementPlan(BaseModel):
    """Wishes to buy (tasks for the charity officer) and how many were declined for budget."""

    to_buy: list[VisitRef]
    declined_over_budget: int
    budget_left_yuan: int


class ProcurementVerdict(BaseModel):
    """A procurement as stored: bought within budget, or declined with a reason."""

    wish_id: int
    purchased: bool
    cost_yuan: int = 0
    reason: str | None = None
    actor: str | None = None
    at: datetime


class DeliveryOrder(BaseModel):
    """One filled wish to deliver: the Delivery request's references, no names."""

    wish_id: int
    recipient_ref: str
    donor_ref: str | None
    community: str
    category: str
    size: str | None


class DeliveryOutcomeRow(BaseModel):
    """How one wish's delivery ended."""

    wish_id: int
    outcome: str
    delivered_at: datetime | None = None


class RecordDeliveriesInput(BaseModel):
    """Delivery outcomes of one wave."""

    campaign_id: str
    rows: list[DeliveryOutcomeRow]


class ReportInput(BaseModel):
    """Write the campaign report."""

    campaign_id: str
    at: datetime


class CommunityLine(BaseModel):
    """A community's line of the report: each stage counted on its own.

    ``matched`` wishes got a pledge, ``procured`` ones were bought; ``filled`` is
    ``delivered`` (handed over to the child), and ``fill_rate`` is delivered over approved.
    """

    community: str
    wishes: int
    approved: int
    matched: int = 0
    procured: int = 0
    filled: int
    delivered: int
    fill_rate: float


class CampaignReport(BaseModel):
    """The campaign result: counts, fill rates, time to delivery, money; no personal data.

    ``counts`` holds ``wishes``, ``approved``, ``pledged_units`` (goods units of active
    pledges), ``matched`` (wishes a pledge fills), ``procured`` (bought), ``delivered``,
    ``not_delivered``, ``filled`` (= delivered), ``status.<status>`` and ``reason.<code>``
    (codes only: free text stays in the case record). The report is stored in the app
    database (``cw_report``) under ``report_id``; read it with
    :func:`plugins.childcare.microwish.report.load_report`.
    """

    campaign_id: str
    district: str
    counts: dict[str, int]
    pledges: dict[str, int]
    fill_rate: float
    communities: list[CommunityLine]
    days_visit_to_delivery_median: float | None
    days_visit_to_delivery_max: float | None
    money_pledged_yuan: int
    money_spent_yuan: int
    budget_yuan: int
    report_id: str = Field(default="", description="Key of the stored report (cw_report).")
