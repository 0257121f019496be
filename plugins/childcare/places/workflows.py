"""Childcare places 托育 "1+N+X" (Xinghualing): application, matching, offer, enrolment.

eligibility against the registry → the best provider with a free seat by preference and area
distance holds one for the family (atomically; never overbooked), or the family joins the
waiting list → an offer with an acceptance deadline (community staff record the answer) →
accepted: the district's steps before enrolment (a health check may find the child not fit:
the seat passes on and the application ends ``enrolment_refused``), then enrolment; declined
or no answer: the seat passes straight to the next family on the waiting list, whose process
is told by signal. A family that declines may stay on the waiting list for another seat.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from careflow.forms import form_ref
from careflow.models import ProcessInput
from careflow.plan import TaskTemplate
from careflow.roles import Role
from plugins.childcare.places.forms import OfferAnswerForm
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
from workflows.runtime import CareProcess, TaskExpired

__all__ = ["PlacesWorkflow"]

DB_TIMEOUT = timedelta(seconds=30)


def _offer_task(params: PlacesParams) -> TaskTemplate:
    # No escalation: the acceptance deadline is the family's, and it is final.
    return TaskTemplate(
        role=Role.COMMUNITY_STAFF,
        title_zh="登记家庭对托位的答复 record the family's answer",
        title_en="Record whether the family accepts the offered place",
        form_ref=form_ref(OfferAnswerForm),
        due=params.offer_acceptance,
    )


_ENROLMENT_GATE = "places-enrolment-gate"


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
class PlacesWorkflow(CareProcess):
    """One family's application, from eligibility to enrolment or the end of the wait."""

    def __init__(self) -> None:
        super().__init__()
        self._offer: str | None = None

    @workflow.signal(name="place_offered")
    def place_offered(self, offer: PlaceOffer) -> None:
        """Another family released a seat and it was passed to this waiting application."""
        self._offer = offer.provider_ref

    @workflow.signal(name="application_received")
    def application_received(self, event: PlacesApplicationEvent) -> None:
        """A ``childcare.places_apply`` event; it started this process, which its request holds.

        A repeat of the event while the application runs changes nothing.
        """

    async def _db(self, name: str, arg: object, result_type: type, summary: str) -> object:
        return await workflow.execute_activity(
            name, arg, result_type=result_type, start_to_close_timeout=DB_TIMEOUT, summary=summary
        )

    @workflow.run
    async def run(self, input: ProcessInput[PlacesRequest]) -> PlacesResult:
        self.begin(input)
        params = PlacesParams.model_validate(self.params)
        request = input.request
        wf_id = workflow.info().workflow_id

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
            form = OfferAnswerForm.model_validate(answer.data)
            if form.accept:
                produced = await self.extension_point(
                    "before_enrolment", {"provider_ref": provider, "child_ref": request.child_ref}
                )
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
                lambda: self._offer is not None,
                timeout=params.waiting_list_expiry,
                timeout_summary="候补等待 waiting for a seat",
            )
        except TimeoutError:
            pass
        provider, self._offer = self._offer, None
        return provider

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
