"""The workload of ``engine_overhead.py``: one engine process and one bare workflow doing the
same K no-op activities.

A module of its own so its plugin can pass it through the workflow sandbox, as careflow's
own plugins are: the sandbox would otherwise import it again for every workflow it creates
(and make ``ProcessInput[BenchRequest]`` anew each time), a cost production processes do
not pay. The bare workflow lives here too, so both sides are treated alike.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow

from careflow.contract import ActivitySet, ActivityStep, CarePlugin, ProcessSpec
from careflow.models import ProcessInput, StepInput, StepOutput
from workflows.runtime import CareProcess

__all__ = ["BareInput", "BareWorkflow", "EngineProcess", "bench_plugin"]


class NoopActivities:
    """The work both sides do: one activity call per step."""

    @activity.defn(name="bench.noop")
    async def noop(self, input: StepInput) -> StepOutput:
        return StepOutput(data={"step": input.step_key})


class BenchRequest(BaseModel):
    """Nothing to ask for."""


class BenchParams(BaseModel):
    """Nothing to set."""


@workflow.defn(name="bench.engine_process")
class EngineProcess(CareProcess):
    """A process whose whole body is one extension point of K activity steps."""

    @workflow.run
    async def run(self, input: ProcessInput[BenchRequest]) -> int:
        self.begin(input)
        self.stage("working", "执行中 working")
        produced = await self.extension_point("work")
        self.stage("done", "完成 done")
        return len(produced)


class BareInput(BaseModel):
    """The bare workflow's input: how many activities to run."""

    steps: int
    context: dict[str, str]


@workflow.defn(name="bench.bare")
class BareWorkflow:
    """The same K activities, called directly."""

    @workflow.run
    async def run(self, input: BareInput) -> int:
        for n in range(input.steps):
            await workflow.execute_activity(
                "bench.noop",
                {
                    "workflow_id": workflow.info().workflow_id,
                    "step_key": f"s{n}",
                    "context": input.context,
                },
                result_type=StepOutput,
                start_to_close_timeout=timedelta(minutes=1),
            )
        return input.steps


def bench_plugin(steps: int) -> CarePlugin:
    return CarePlugin(
        name="bench",
        version="1",
        title_zh="基准",
        title_en="Benchmark",
        processes=(
            ProcessSpec(
                id="bench.process",
                module="bench",
                title_zh="基准流程",
                title_en="Benchmark process",
                workflow=EngineProcess,
                request_model=BenchRequest,
                params_model=BenchParams,
                extension_points=("work",),
            ),
        ),
        steps=tuple(
            ActivityStep(
                key=f"bench.step{n}",
                process="bench.process",
                point="work",
                summary_zh=f"步骤 {n}",
                activity="bench.noop",
            )
            for n in range(steps)
        ),
        workflows=(BareWorkflow,),
        activities=(ActivitySet(cls=NoopActivities, build=lambda deps: NoopActivities()),),
        sandbox_passthrough=(__name__,),
    )
