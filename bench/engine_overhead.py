"""Engine overhead: N processes of K plan steps through the engine vs. N bare workflows.

Both run the same K no-op activities on one dev server and one worker, in alternating rounds,
so the ratio is measured under the same (shared, noisy) machine load. Target: the engine keeps
at least 0.85 of the bare throughput at K=5, N=500.

    .venv/bin/python bench/engine_overhead.py [--processes 500] [--steps 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.client import Client

from careflow import service
from careflow.contract import ActivitySet, ActivityStep, CarePlugin, ProcessSpec
from careflow.db import make_engine, upgrade
from careflow.models import ProcessInput, StepInput, StepOutput
from careflow.registry import PluginRegistry
from careflow.testing import local_environment, running_worker
from plugins.engine import plugin as engine_plugin
from workflows.runtime import CareProcess


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
    )


async def _engine_round(client: Client, registry: PluginRegistry, tq: str, n: int) -> float:
    begin = time.perf_counter()
    started = await asyncio.gather(
        *(
            service.start_process(
                client,
                registry,
                process="bench.process",
                district="wanbailin",
                request={},
                started_by="bench",
                task_queue=tq,
                case_ref=f"b{uuid.uuid4().hex[:10]}",
            )
            for _ in range(n)
        )
    )
    await asyncio.gather(*(client.get_workflow_handle(s.workflow_id).result() for s in started))
    return n / (time.perf_counter() - begin)


async def _bare_round(client: Client, tq: str, n: int, steps: int) -> float:
    begin = time.perf_counter()
    context = {
        "process": "bench.bare",
        "module": "bench",
        "district": "wanbailin",
        "case_ref": "bare",
        "started_by": "bench",
    }
    handles = await asyncio.gather(
        *(
            client.start_workflow(
                BareWorkflow.run,
                BareInput(steps=steps, context=context),
                id=f"bare-{uuid.uuid4().hex[:12]}",
                task_queue=tq,
            )
            for _ in range(n)
        )
    )
    await asyncio.gather(*(h.result() for h in handles))
    return n / (time.perf_counter() - begin)


async def main(n: int, steps: int, rounds: int) -> None:
    registry = PluginRegistry.build([engine_plugin, bench_plugin(steps)])
    env = await local_environment()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        try:
            async with running_worker(env.client, registry, engine=engine) as worker:
                tq = worker.task_queue
                await _bare_round(env.client, tq, 20, steps)  # warm-up
                await _engine_round(env.client, registry, tq, 20)
                bare, eng = [], []
                for r in range(rounds):
                    bare.append(await _bare_round(env.client, tq, n, steps))
                    eng.append(await _engine_round(env.client, registry, tq, n))
                    print(
                        f"round {r + 1}: bare {bare[-1]:.1f}/s  engine {eng[-1]:.1f}/s  "
                        f"ratio {eng[-1] / bare[-1]:.3f}",
                        flush=True,
                    )
        finally:
            engine.dispose()
            await env.shutdown()
    mb, me = statistics.median(bare), statistics.median(eng)
    print(f"\nN={n} processes, K={steps} activity steps, {rounds} rounds (medians)")
    print(f"  bare Temporal workflows : {mb:8.1f} workflows/s")
    print(f"  careflow engine process : {me:8.1f} processes/s")
    print(f"  ratio engine/bare       : {me / mb:8.3f}   (target >= 0.85)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=500)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.processes, args.steps, args.rounds))
