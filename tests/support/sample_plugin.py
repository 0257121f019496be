"""A small plugin the tests load explicitly: steps at Delivery's extension points, a
long-lived process that continues as new, and a schedule."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity, workflow

from careflow.contract import (
    ActivitySet,
    ActivityStep,
    CarePlugin,
    ChildProcessStep,
    DistrictProgramme,
    HumanTaskStep,
    ProcessSpec,
    ScheduleSpec,
    WaitStep,
)
from careflow.db import crud
from careflow.models import ProcessInput, StepInput, StepOutput
from careflow.plan import EscalationLevel
from workflows.runtime import CareProcess


class CallForm(BaseModel):
    """A phone call made to the recipient."""

    reached: bool
    note: str = Field(default="", max_length=100)


class SampleActivities:
    """Writes a case record so a test can see that the step really ran."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="sample.stamp")
    def stamp(self, input: StepInput) -> StepOutput:
        with Session(self._engine) as session:
            crud.insert_case_record(
                session,
                workflow_id=input.workflow_id,
                step_key=input.step_key,
                process=input.context.process,
                district=input.context.district,
                case_ref=input.context.case_ref,
                kind="sample.stamp",
                data={"params": input.params},
            )
            session.commit()
        return StepOutput(data={"stamped": input.step_key})


class HeartbeatRequest(BaseModel):
    """Beats to run; the process continues as new every few beats."""

    beats: int = Field(default=6, ge=1)


class HeartbeatParams(BaseModel):
    interval: timedelta = timedelta(days=1)
    history_limit: int = 30


@workflow.defn(name="sample.heartbeat")
class HeartbeatWorkflow(CareProcess):
    """A long-lived process: one record per beat, continue-as-new past a history size."""

    @workflow.run
    async def run(self, input: ProcessInput[HeartbeatRequest]) -> dict[str, int]:
        self.begin(input)
        params = HeartbeatParams.model_validate(self.params)
        done = int(input.carry.get("done", 0))
        runs = int(input.carry.get("runs", 0)) + 1
        while done < input.request.beats:
            self.stage("beating", f"第{done + 1}次 beat")
            await workflow.sleep(params.interval, summary="等待下一次 next beat")
            await self.record(f"beat.{done}", "beat", {"n": done})
            done += 1
            if done < input.request.beats and self.should_continue_as_new(
                max_history=params.history_limit
            ):
                await self.continue_as_new({"done": done, "runs": runs})
        return {"done": done, "runs": runs}


HEARTBEAT = ProcessSpec(
    id="sample.heartbeat",
    module="sample",
    title_zh="测试心跳",
    title_en="Test heartbeat",
    workflow=HeartbeatWorkflow,
    request_model=HeartbeatRequest,
    params_model=HeartbeatParams,
    long_lived=True,
)


def make_sample_plugin(
    *, version: str = "1.0.0", stamp_key: str = "sample.stamp", with_call: bool = True
) -> CarePlugin:
    """The sample plugin; ``version`` and ``stamp_key`` vary it for plan-freezing tests."""
    steps: list = [
        ActivityStep(
            key=stamp_key,
            process="delivery",
            point="after_dropoff",
            summary_zh="测试盖章 sample stamp",
            activity="sample.stamp",
        ),
        WaitStep(
            key="sample.cooldown",
            process="delivery",
            point="after_handover",
            summary_zh="等待一小时 wait an hour",
            duration=timedelta(hours=1),
            districts=frozenset({"xiaodian"}),
        ),
    ]
    steps.append(
        ChildProcessStep(
            key="sample.child",
            process="delivery",
            point="before_close",
            summary_zh="子流程心跳 child heartbeat",
            child_process="sample.heartbeat",
            request={"beats": 1},
            districts=frozenset({"jinyuan"}),
        )
    )
    if with_call:
        steps.append(
            HumanTaskStep(
                key="sample.call",
                process="delivery",
                point="after_handover",
                summary_zh="电话回访 follow-up call",
                role="community_staff",
                title_zh="电话回访受助人",
                title_en="Follow-up call",
                form=CallForm,
                due=timedelta(hours=4),
                escalation=(EscalationLevel(role="district_admin", due=timedelta(hours=4)),),
                districts=frozenset({"wanbailin"}),
            )
        )
    return CarePlugin(
        name="sample",
        version=version,
        title_zh="测试插件",
        title_en="Sample plugin",
        order=50,
        processes=(HEARTBEAT,),
        steps=tuple(steps),
        schedules=(
            ScheduleSpec(
                id="sample.daily",
                process="sample.heartbeat",
                title_zh="每日心跳",
                crons=("30 9 * * *",),
                request={"beats": 1},
                districts=frozenset({"wanbailin"}),
            ),
        ),
        programmes=(
            DistrictProgramme(district="xiaodian", params={"delivery": {"handover_due": "PT6H"}}),
        ),
        activities=(
            ActivitySet(cls=SampleActivities, build=lambda deps: SampleActivities(deps.engine)),
        ),
    )
