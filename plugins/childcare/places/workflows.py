"""Childcare places 托育 "1+N+X" (Xinghualing): application, matching, offer, enrolment.

eligibility against the registry → the best provider with a free seat by preference and area
distance holds one for the family (atomically; never overbooked), or the family joins the
waiting list → an offer with an acceptance deadline (community staff record the answer) →
accepted: the district's steps before enrolment (a health check may find the child not fit:
the seat passes on and the application ends ``enrolment_refused``), then enrolment; declined
or no answer: the seat passes straight to the next family on the waiting list, whose process
is told by signal. A family that declines may stay on the waiting list for another seat.

Consent (patch ``consent-checks``): before the child's registry data is looked at, the
guardian's consent for ``childcare_place`` must be on record. Without it community staff get a
task to record it (补登监护人同意, ``consent_follow_up``); the process checks again when they
finish, and ends ``consent_missing`` when it is still missing or the task expires. A guardian
who withdraws consent while the application runs ends it ``consent_withdrawn``: open tasks
cancelled, a held seat released to the next family, staff told.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow

from careflow.forms import form_ref
from careflow.models import ProcessInput
from careflow.plan import TaskTemplate
from careflow.privacy.withdrawal import CONSENT_WITHDRAWN_SIGNAL, ConsentWithdrawn
from plugins.childcare.consent import CONSENT_PATCH, ConsentAware
from plugins.childcare.places.forms import ConsentFollowUpForm, OfferAnswerForm
from plugins.childcare.places.models import (
    ApplicationRef,
    Eligibility,
    EligibilityInput,
    EnrolmentVerdict,
    MatchInput,
    MatchResult,
    PlaceOffer,
    PlacesApplicationEvent,
    PlacesOutcome,
    PlacesParams,
    PlacesRequest,
    PlacesResult,
    ReleaseInput,
    ReleaseResult,
)
from plugins.engine.roles import Role
from workflows.runtime import TEMPORAL_DEFAULT_RETRY, TaskExpired, event_signal, run_activity

__all__ = ["PlacesWorkflow"]


def _offer_task(params: PlacesParams) -> TaskTemplate:
    # No escalation: the acceptance deadline is the family's, and it is final.
    return TaskTemplate(
        role=Role.COMMUNITY_STAFF,
        title_zh="登记家庭对托位的答复 record the family's answer",
        title_en="Record whether the family accepts the offered place",
        form_ref=form_ref(OfferAnswerForm),
        due=params.offer_acceptance,
    )


def _consent_task(params: PlacesParams) -> TaskTemplate:
    return TaskTemplate(
        role=Role.COMMUNITY_STAFF,
        title_zh="托育申请：补登监护人同意书 record the guardian's consent",
        title_en="Childcare application: record the guardian's consent first",
        form_ref=form_ref(ConsentFollowUpForm),
        due=params.consent_follow_up,
    )


_ENROLMENT_GATE = "places-enrolment-gate"
PURPOSE = "childcare_place"
"""The consent purpose of a childcare place (``careflow.privacy.consent``)."""


def _refusals(produced: dict[str, object], params: PlacesParams) -> list[str]:
    """Keys of the steps before enrolment that stop it (see :class:`EnrolmentVerdict`)."""
    refused = []
    for key, out in produced.items():
        if not isinstance(out, dict):
            continue
        verdict = EnrolmentVerdict.model_validate(out)
        if not verdict.enrol or (verdict.expired and params.answer_required_before_enrolment):
            refused.append(key)
    return refused


@workflow.defn(name="childcare.places")
class PlacesWorkflow(ConsentAware):
    """One family's application, from eligibility to enrolment or the end of the wait."""

    def __init__(self) -> None:
        super().__init__()
        self._offer: str | None = None
        self._child = ""
        self._withdrawal: ConsentWithdrawn | None = None

    @workflow.signal(name=CONSENT_WITHDRAWN_SIGNAL)
    async def consent_withdrawn(self, signal: ConsentWithdrawn) -> None:
        """The guardian withdrew consent: no task of this application may be done any more;
        the run ends the application at its next step (``_stop``)."""
        if signal.purpose != PURPOSE or signal.subject_ref != self._child:
            return  # another child's, or another purpose: not this application's
        if self._withdrawal is not None:
            return
        self._withdrawal = signal
        await self.cancel_tasks(lambda _key: True)

    @workflow.signal(name="place_offered")
    def place_offered(self, offer: PlaceOffer) -> None:
        """Another family released a seat and it was passed to this waiting application."""
        self._offer = offer.provider_ref

    @event_signal(name="application_received")
    def application_received(self, event: PlacesApplicationEvent) -> None:
        """A ``childcare.places_apply`` event; it started this process, which its request holds.

        A repeat of the event while the application runs changes nothing.
        """

    async def _db(self, name: str, arg: BaseModel, result_type: type, summary: str) -> object:
        return await run_activity(
            name, arg, result_type=result_type, retry=TEMPORAL_DEFAULT_RETRY, summary=summary
        )

    @workflow.run
    async def run(self, input: ProcessInput[PlacesRequest]) -> PlacesResult:
        self.begin(input)
        params = PlacesParams.model_validate(self.params)
        request = input.request
        wf_id = workflow.info().workflow_id
        self._child = request.child_ref

        if workflow.patched(CONSENT_PATCH):
            missing = await self._consent_gate(params)
            if missing is not None:
                return missing
        if stopped := await self._stop(wf_id, PlacesResult(outcome=PlacesOutcome.DECLINED)):
            return stopped

        self.stage("eligibility", "资格审核 eligibility")
        eligibility = await self._db(
            "childcare.places.check_eligibility",
            EligibilityInput(
                workflow_id=wf_id,
                child_ref=request.child_ref,
                district=self.context.district,
                max_age_years=params.max_age_years,
                on=workflow.now(),
            ),
            Eligibility,
            "核对登记信息 check the registry",
        )
        assert isinstance(eligibility, Eligibility)
        await self.record("eligibility", "places_eligibility", eligibility.model_dump(mode="json"))
        if not eligibility.eligible or eligibility.community is None:
            return await self._close(
                PlacesResult(outcome=PlacesOutcome.INELIGIBLE, reason=eligibility.reason)
            )
        await self.extension_point("after_eligibility", {"community": eligibility.community})

        result = PlacesResult(outcome=PlacesOutcome.DECLINED)
        match_first = True
        while True:
            if stopped := await self._stop(wf_id, result):
                return stopped
            provider: str | None = None
            if match_first:
                self.stage("matching", "匹配托位 matching")
                matched = await self._db(
                    "childcare.places.match",
                    MatchInput(
                        workflow_id=wf_id,
                        child_ref=request.child_ref,
                        district=self.context.district,
                        community=eligibility.community,
                        preferred_kinds=list(request.preferred_kinds),
                        preferred_providers=request.preferred_providers,
                        at=workflow.now(),
                    ),
                    MatchResult,
                    "匹配有空位的托育机构 match a free seat",
                )
                assert isinstance(matched, MatchResult)
                provider = matched.provider_ref
            if provider is None:
                provider = await self._wait_for_seat(result, params)
                if stopped := await self._stop(wf_id, result):
                    return stopped
                if provider is None:
                    lapsed = await self._db(
                        "childcare.places.lapse",
                        ApplicationRef(workflow_id=wf_id, at=workflow.now()),
                        ReleaseResult,
                        "候补到期 waiting list expired",
                    )
                    assert isinstance(lapsed, ReleaseResult)
                    await self._pass_on(lapsed)
                    result.outcome = PlacesOutcome.WAITING_LIST_EXPIRED
                    return await self._close(result)

            result.offers.append(provider)
            n = len(result.offers)
            self.stage("offer", "托位邀请 offer")
            await self.record(f"offer.{n}", "place_offered", {"provider_ref": provider})
            await self.notify(
                f"offer.{n}",
                recipient_ref=request.child_ref,
                template="places_offer",
                body_zh="您申请的托育位已有名额，请在期限内答复是否接受。",
                params={"provider_ref": provider, "days": params.offer_acceptance.days},
            )
            try:
                answer = await self.human_task(f"offer.{n}", _offer_task(params))
            except TaskExpired:
                await self._release(wf_id, "lapsed")
                result.outcome = PlacesOutcome.OFFER_EXPIRED
                return await self._close(result)
            if stopped := await self._stop(wf_id, result):
                return stopped
            form = OfferAnswerForm.model_validate(answer.data)
            if form.accept:
                produced = await self.extension_point(
                    "before_enrolment", {"provider_ref": provider, "child_ref": request.child_ref}
                )
                if stopped := await self._stop(wf_id, result):
                    return stopped
                refused = _refusals(produced, params)
                # Applications that enrolled regardless before this rule replay as they ran.
                if refused and workflow.patched(_ENROLMENT_GATE):
                    await self._release(wf_id, "refused")
                    await self.record(
                        "enrolment_refused", "places_enrolment_refused", {"steps": refused}
                    )
                    await self.notify(
                        "enrolment_refused",
                        recipient_ref=request.child_ref,
                        template="places_enrolment_refused",
                        body_zh="入托前检查未通过，本次托位未能入托；请按机构意见复查后重新申请。",
                        params={"provider_ref": provider},
                    )
                    result.outcome = PlacesOutcome.ENROLMENT_REFUSED
                    result.reason = ",".join(refused)
                    return await self._close(result)
                await self._db(
                    "childcare.places.enrol",
                    ApplicationRef(workflow_id=wf_id, at=workflow.now()),
                    type(None),
                    "登记入托 record the enrolment",
                )
                await self.record("enrolment", "places_enrolled", {"provider_ref": provider})
                result.outcome, result.provider_ref = PlacesOutcome.ENROLLED, provider
                return await self._close(result)
            await self._release(wf_id, "waiting" if form.keep_waiting else "declined")
            if not form.keep_waiting:
                result.outcome = PlacesOutcome.DECLINED
                return await self._close(result)
            # Back on the waiting list: the next seat comes by being passed on, not re-matched,
            # so the family is not offered the place they just turned down.
            match_first = False

    async def _wait_for_seat(self, result: PlacesResult, params: PlacesParams) -> str | None:
        self.stage("waiting_list", "候补 waiting list")
        result.waited = True
        await self.record(f"waiting.{len(result.offers)}", "places_waiting", {})
        try:
            await workflow.wait_condition(
                lambda: self._offer is not None or self._withdrawal is not None,
                timeout=params.waiting_list_expiry,
                timeout_summary="候补等待 waiting for a seat",
            )
        except TimeoutError:
            pass
        provider, self._offer = self._offer, None
        return provider

    # -- consent

    async def _consent_gate(self, params: PlacesParams) -> PlacesResult | None:
        """Whether the guardian's consent is on record; if not, a task for staff to record it.

        Returns:
            None to go on; the closed result when consent is still missing.
        """
        checked = await self.consent_missing(PURPOSE, [self._child])
        if not checked.missing:
            return None
        community = checked.communities.get(self._child) or self.context.community
        await self.record(
            "consent_missing",
            "consent_missing",
            {
                "purpose": PURPOSE,
                "child_ref": self._child,
                "reason_zh": "未登记监护人同意（托育服务），申请暂不受理",
            },
        )
        self.stage("consent", "待补登监护人同意 waiting for the guardian's consent")
        try:
            task = await self.human_task("consent", _consent_task(params), community=community)
        except TaskExpired:
            task = None
        if self._withdrawal is not None:
            return None  # the caller's next step ends the application
        if task is not None:
            checked = await self.consent_missing(PURPOSE, [self._child])
            if not checked.missing:
                await self.record("consent_recorded", "consent_recorded", {"purpose": PURPOSE})
                return None
        await self.notify(
            "consent_missing",
            recipient_ref=f"role:{Role.COMMUNITY_STAFF.value}",
            template="consent_missing",
            body_zh="托育申请未受理：未登记监护人同意书（托育服务）。请登记同意后重新申请。",
            params={"purpose": PURPOSE},
        )
        return await self._close(
            PlacesResult(outcome=PlacesOutcome.CONSENT_MISSING, reason="no_consent_record")
        )

    async def _stop(self, wf_id: str, result: PlacesResult) -> PlacesResult | None:
        """End the application if consent was withdrawn (else None): seat and queue place
        given up, the record written, staff told."""
        signal = self._withdrawal
        if signal is None:
            return None
        released = await self._db(
            "childcare.places.withdraw",
            ApplicationRef(workflow_id=wf_id, at=workflow.now()),
            ReleaseResult,
            "撤回同意：释放托位、退出候补 consent withdrawn: give up seat and queue",
        )
        assert isinstance(released, ReleaseResult)
        await self._pass_on(released)
        await self.record(
            "consent_withdrawn",
            "consent_withdrawn",
            {
                "purpose": PURPOSE,
                "child_ref": self._child,
                "consent_id": signal.consent_id,
                "request_id": signal.request_id,
                "reason_zh": "监护人已撤回同意（托育服务），申请终止",
            },
        )
        await self.notify(
            "consent_withdrawn",
            recipient_ref=f"role:{Role.COMMUNITY_STAFF.value}",
            template="consent_withdrawn",
            body_zh="托育申请已终止：监护人撤回了同意（托育服务），已占托位已释放给下一位。",
            params={"purpose": PURPOSE},
        )
        result.outcome, result.reason = PlacesOutcome.CONSENT_WITHDRAWN, "consent_withdrawn"
        return await self._close(result)

    async def _release(self, wf_id: str, status: str) -> None:
        released = await self._db(
            "childcare.places.release",
            ReleaseInput(workflow_id=wf_id, status=status, at=workflow.now()),  # type: ignore[arg-type]
            ReleaseResult,
            "释放托位 release the seat",
        )
        assert isinstance(released, ReleaseResult)
        await self._pass_on(released)

    async def _pass_on(self, released: ReleaseResult) -> None:
        """Tell the next family's process that a seat is held for it."""
        if released.passed_to is None or released.provider_ref is None:
            return
        await self.record(
            f"seat_passed.{released.passed_to}",
            "places_seat_passed",
            {"to": released.passed_to, "provider_ref": released.provider_ref},
        )
        try:
            await workflow.get_external_workflow_handle(released.passed_to).signal(
                "place_offered", PlaceOffer(provider_ref=released.provider_ref)
            )
        except Exception as err:  # the other process ended meanwhile; its row says so
            workflow.logger.warning("places.signal_failed", extra={"error": type(err).__name__})

    async def _close(self, result: PlacesResult) -> PlacesResult:
        self.stage("closed", "已结束 closed")
        await self.extension_point("before_close", {"outcome": result.outcome.value})
        await self.record("report", "places_report", result.model_dump(mode="json"))
        return result
