"""MQTT ingress throughput against a baseline measured in the same run.

A private Mosquitto (``max_queued_messages 0``: Mosquitto's default keeps 1,000 messages per
session and drops the rest silently, which a burst larger than the ingress's backlog meets),
a local Temporal dev server, a seeded SQLite app database, a worker of the engine, eldercare,
childcare and Wanbailin plugins in this process and ``careflow ingress`` in its own process.
A reading is *applied* once its health monitor stored it.

Two kinds of phase, each with the same number of readings over the same stations and elders
(new device ids and measurement times every phase, so each is new events):

* **baseline**: this process hands each reading to :func:`careflow.service.route_event` (with
  the database, so the event passes the same checks as through the ingress), at most
  ``--in-flight`` at once and one at a time per elder, as the ingress takes them. No broker, no
  ingress: what the worker and Temporal manage on this machine right now.
* **ingress**: all readings are published as fast as the broker takes them (QoS 1) and
  ``careflow ingress`` delivers them.

Both are timed alike, from the first send to the poll that sees the last reading stored. On a
shared machine the absolute figures move with the neighbours; the ratio ingress/baseline of
phases run back to back moves much less. The phases alternate (baseline, ingress, baseline,
ingress, ...) ``--repeat`` times, after an untimed warm-up of one reading per elder each way
(so no timed phase alone pays for starting the monitors and the connections).

Printed per phase: events/s, loss and duplicates (must be 0 and 0, else the exit status is 1),
the CPU seconds each process used (what limits the figure), for the ingress phases also the
publish rate and the lag at the end (last publish to last applied). Then the median events/s of
each kind, the median of the rounds' ratios ingress/baseline, and the ingress's own counters.

    .venv/bin/python bench/ingress.py [--readings 1200] [--repeat 3] [--stations 500]
        [--in-flight 64]
        [--broker mqtt://127.0.0.1:1883]   # an existing broker instead of a private one
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the package it measures: run as a script, its folder comes first on
# the path and would hide the real ``ingress``.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import asyncio
import base64
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import aiomqtt
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client

from careflow.db import make_engine, upgrade
from careflow.db.seed import seed_demo
from careflow.db.seed_accounts import seed_demo_accounts
from careflow.db.tables import Consent, IngressMessage, Person
from careflow.registry import PluginRegistry
from careflow.service import route_event
from careflow.settings import Settings
from ingress import ensure_dev_token
from ingress.broker import broker_address
from plugins.childcare import plugin as childcare
from plugins.eldercare import plugin as eldercare
from plugins.eldercare.health.tables import HealthReading
from plugins.engine import plugin as engine_plugin
from plugins.wanbailin import plugin as wanbailin
from worker.testing import local_environment, running_worker

DISTRICT = "wanbailin"
PLUGINS = (engine_plugin, childcare, eldercare, wanbailin)
STALL = 120.0
"""Seconds without a reading applied after which a phase gives up (and reports the loss)."""
SETTLE = 3.0
"""Seconds waited after the last reading applied before counting again: anything applied
twice shows by then."""
EVENT_TYPE = "eldercare.reading"
START = datetime(2026, 12, 1, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def private_broker(workdir: Path) -> Iterator[tuple[str, int | None]]:
    """A Mosquitto of this run that never drops queued messages; yields (url, pid)."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = _free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 0\nmax_inflight_messages 0\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"mqtt://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def given_broker(url: str) -> Iterator[tuple[str, int | None]]:
    """An existing broker (its CPU is not measured)."""
    yield url, None


def _pid_of(*needles: str) -> int | None:
    """The pid of the process whose command line holds every needle (Linux /proc)."""
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, UnicodeDecodeError):
            continue
        if all(n in cmdline for n in needles):
            return int(entry.name)
    return None


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a live process (Linux /proc)."""
    if pid is None:
        return float("nan")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _applied(engine: Engine, devices: str) -> tuple[int, int]:
    """(distinct readings applied, rows) of this run's stations."""
    with Session(engine) as session:
        rows = session.exec(
            select(func.count()).where(col(HealthReading.device_id).startswith(devices))
        ).one()
        distinct = session.exec(
            select(func.count()).select_from(
                select(HealthReading.device_id, HealthReading.measured_at)
                .where(col(HealthReading.device_id).startswith(devices))
                .distinct()
                .subquery()
            )
        ).one()
    return distinct, rows


def _elders(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(Person.id)
                .join(Consent, col(Consent.subject_id) == col(Person.id))
                .where(Person.kind == "elder", Consent.purpose == "health_monitoring")
                .where(col(Consent.withdrawn_at).is_(None))
                .where(col(Person.community_code).startswith(f"{DISTRICT}."))
            ).all()
        )


async def _publish(url: str, root: str, payloads: list[bytes]) -> tuple[float, float]:
    address = broker_address(url)
    async with aiomqtt.Client(
        address.host,
        address.port,
        identifier=f"bench-pub-{uuid.uuid4().hex[:6]}",
        protocol=aiomqtt.ProtocolVersion.V5,
        max_inflight_messages=1000,
    ) as client:
        client.pending_calls_threshold = len(payloads) + 1  # all at once is the point
        started = time.monotonic()
        topic = f"{root}/{DISTRICT}/{EVENT_TYPE}"
        await asyncio.gather(*(client.publish(topic, p, qos=1) for p in payloads))
        return started, time.monotonic()


async def _route(
    client: Client,
    registry: PluginRegistry,
    engine: Engine,
    events: list[dict[str, Any]],
    *,
    task_queue: str,
    in_flight: int,
) -> tuple[float, float]:
    """Each event to ``route_event`` the way the ingress delivers messages; (first, last send).

    The ingress takes at most ``in_flight`` messages and handles those of one case in order
    (its lanes), so a slot can wait on its elder's lane; the same here, or the baseline would
    have more parallelism than the ingress could ever use.
    """
    slots = asyncio.Semaphore(in_flight)
    lanes: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def one(data: dict[str, Any]) -> None:
        try:
            async with lanes[data["case_ref"]]:
                await route_event(
                    client,
                    registry,
                    event_type=EVENT_TYPE,
                    data=data,
                    task_queue=task_queue,
                    engine=engine,  # the checks send_event makes for the ingress
                )
        finally:
            slots.release()

    tasks: list[asyncio.Task[None]] = []
    started = time.monotonic()
    for data in events:
        await slots.acquire()
        tasks.append(asyncio.create_task(one(data)))
    await asyncio.gather(*tasks)
    return started, time.monotonic()


async def _until_applied(
    engine: Engine, devices: str, count: int, sending: asyncio.Task[tuple[float, float]]
) -> float:
    """When a poll first saw the last of ``count`` readings stored (or the last one, stalled).

    Polled every half second for both kinds of phase, so both carry the same granularity.
    """
    last, last_change, done = 0, time.monotonic(), 0
    while done < count and time.monotonic() - last_change < STALL:
        await asyncio.sleep(0.5)
        if sending.done():
            sending.result()  # a send that failed ends the run with its error, not a stall
        done, _ = _applied(engine, devices)
        if done != last:
            last, last_change = done, time.monotonic()
    return last_change


@dataclass(frozen=True, slots=True)
class Phase:
    """One timed delivery of the readings: straight to ``route_event`` or through the ingress."""

    kind: Literal["baseline", "ingress"]
    readings: int
    started: float
    """The first send (``route_event`` call or publish)."""
    sent: float
    """The last send returned (delivered, or taken by the broker)."""
    applied: float
    distinct: int
    rows: int
    cpu: dict[str, float]

    @property
    def seconds(self) -> float:
        return max(self.applied - self.started, 1e-9)

    @property
    def rate(self) -> float:
        return self.distinct / self.seconds

    @property
    def loss(self) -> int:
        return self.readings - self.distinct

    @property
    def duplicates(self) -> int:
        return self.rows - self.distinct

    @property
    def ok(self) -> bool:
        return self.loss == 0 and self.duplicates == 0

    def line(self, label: str) -> str:
        text = f"{label} {self.kind:8}: {self.rate:7.1f} events/s over {self.seconds:5.1f}s"
        if self.kind == "ingress":
            publishing = max(self.sent - self.started, 1e-9)
            text += (
                f" · published in {publishing:.1f}s ({self.readings / publishing:.0f}/s)"
                f" · lag at the end {self.applied - self.sent:.1f}s"
            )
        text += f" · loss {self.loss} · duplicates {self.duplicates}"
        cpu = ", ".join(f"{name} {value:.1f}s" for name, value in self.cpu.items())
        return f"{text}\n    cpu: {cpu}"


@dataclass(slots=True)
class Bench:
    """What every phase shares: the database, Temporal, the broker and the running ingress."""

    engine: Engine
    client: Client
    registry: PluginRegistry
    task_queue: str
    broker: str
    root: str
    run: str
    elders: list[str]
    stations: int
    in_flight: int
    pids: dict[str, int | None]
    """The processes whose CPU is measured, besides this one."""
    phases: int = 0
    clock: timedelta = field(default_factory=timedelta)
    """How far past ``START`` the next phase's measurements are: each phase is later, so every
    monitor sees its readings in time order across phases too."""

    def _cpu(self) -> dict[str, float]:
        return {
            "this process (worker, sender)": time.process_time(),
            **{name: _cpu_seconds(pid) for name, pid in self.pids.items()},
        }

    def _events(self, count: int, devices: str) -> list[dict[str, Any]]:
        """``count`` readings: the same stations/elders mix every phase, new devices and times."""
        start = START + self.clock
        self.clock += timedelta(seconds=count)
        return [
            {
                "case_ref": self.elders[n % len(self.elders)],
                "device_id": f"{devices}{n % self.stations:03d}",
                "measured_at": (start + timedelta(seconds=n)).isoformat(),
                "systolic": 110 + n % 30,
                "diastolic": 70 + n % 15,
            }
            for n in range(count)
        ]

    async def phase(self, kind: Literal["baseline", "ingress"], count: int) -> Phase:
        self.phases += 1
        # A prefix per phase: its readings are counted apart from every other phase's.
        devices = f"HS-B{self.run}{kind[0].upper()}{self.phases}-"
        events = self._events(count, devices)
        sender: Awaitable[tuple[float, float]]
        if kind == "baseline":
            sender = _route(
                self.client,
                self.registry,
                self.engine,
                [{"district": DISTRICT, **e} for e in events],
                task_queue=self.task_queue,
                in_flight=self.in_flight,
            )
        else:
            payloads = [
                json.dumps({"message_id": f"{self.run}-{self.phases}-{n}", **e}).encode()
                for n, e in enumerate(events)
            ]
            sender = _publish(self.broker, self.root, payloads)
        cpu_before = self._cpu()
        sending = asyncio.ensure_future(sender)
        try:
            applied = await _until_applied(self.engine, devices, count, sending)
            started, sent = await sending
        except BaseException:
            sending.cancel()  # no sends left behind to run into the next phase
            raise
        await asyncio.sleep(SETTLE)
        distinct, rows = _applied(self.engine, devices)
        cpu_after = self._cpu()
        return Phase(
            kind=kind,
            readings=count,
            started=started,
            sent=sent,
            applied=applied,
            distinct=distinct,
            rows=rows,
            cpu={name: cpu_after[name] - cpu_before[name] for name in cpu_before},
        )


def _start_ingress(
    workdir: Path, args: argparse.Namespace, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    careflow = Path(sys.executable).parent / "careflow"
    with (workdir / "ingress.log").open("wb") as log:
        return subprocess.Popen(
            [str(careflow), "ingress", "--max-in-flight", str(args.in_flight)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def main(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="careflow-bench-ingress-"))
    os.environ.setdefault(
        "CAREFLOW_CODEC_KEYS", "bench:" + base64.b64encode(secrets.token_bytes(32)).decode()
    )
    os.environ.setdefault(
        "CAREFLOW_PSEUDONYM_KEY", base64.b64encode(secrets.token_bytes(32)).decode()
    )
    os.environ["CAREFLOW_PLUGINS"] = ",".join(p.name for p in PLUGINS)
    url = f"sqlite:///{(workdir / 'careflow.db').as_posix()}"
    upgrade(url, plugins=PLUGINS)
    engine = make_engine(url)
    with Session(engine) as session:
        seed_demo(session)
        seed_demo_accounts(session)
        session.commit()
    registry = PluginRegistry.build(PLUGINS)
    token, _ = ensure_dev_token(Settings(data_dir=workdir, database_url=url), engine, registry)
    elders = _elders(engine)
    run = uuid.uuid4().hex[:4]
    root = f"bench{run}"
    warm: list[Phase] = []
    rounds: list[tuple[Phase, Phase]] = []
    env = await local_environment()
    try:
        broker_cm = given_broker(args.broker) if args.broker else private_broker(workdir)
        with broker_cm as (broker, broker_pid):
            async with running_worker(env.client, registry, engine=engine) as worker:
                temporal = env.client.service_client.config.target_host
                ingress = _start_ingress(
                    workdir,
                    args,
                    {
                        **os.environ,
                        "CAREFLOW_DATA_DIR": str(workdir),
                        "CAREFLOW_DATABASE_URL": url,
                        "CAREFLOW_TEMPORAL_ADDRESS": temporal,
                        "CAREFLOW_TASK_QUEUE": worker.task_queue,
                        "CAREFLOW_MQTT_URL": broker,
                        "CAREFLOW_MQTT_TOPIC_ROOT": root,
                        "CAREFLOW_MQTT_CLIENT_ID": f"bench-{run}",
                        "CAREFLOW_INGRESS_TOKEN": token,
                        "CAREFLOW_LOG_LEVEL": "WARNING",
                    },
                )
                try:
                    while b"ingress:" not in (workdir / "ingress.log").read_bytes():
                        if ingress.poll() is not None:
                            raise SystemExit((workdir / "ingress.log").read_text())
                        await asyncio.sleep(0.1)
                    pids = {
                        "careflow ingress": ingress.pid,
                        "Temporal dev server": _pid_of("start-dev", temporal.split(":")[1]),
                    }
                    if broker_pid is not None:
                        pids["Mosquitto"] = broker_pid
                    bench = Bench(
                        engine=engine,
                        client=env.client,
                        registry=registry,
                        task_queue=worker.task_queue,
                        broker=broker,
                        root=root,
                        run=run,
                        elders=elders,
                        stations=args.stations,
                        in_flight=args.in_flight,
                        pids=pids,
                    )
                    for kind in ("baseline", "ingress"):
                        warm.append(await bench.phase(kind, len(elders)))
                    for _ in range(args.repeat if all(p.ok for p in warm) else 0):
                        # Back to back, so both phases of a round meet the same neighbours.
                        baseline = await bench.phase("baseline", args.readings)
                        ingressed = await bench.phase("ingress", args.readings)
                        rounds.append((baseline, ingressed))
                        if not (baseline.ok and ingressed.ok):
                            break  # the figures mean nothing; the rest would only take time
                    with Session(engine) as session:
                        settled = session.exec(
                            select(IngressMessage.status, func.count())
                            .where(col(IngressMessage.topic).startswith(f"{root}/"))
                            .group_by(col(IngressMessage.status))
                        ).all()
                finally:
                    ingress.send_signal(signal.SIGTERM)
                    ingress.wait(timeout=60)
    finally:
        await env.shutdown()
        engine.dispose()
    print(
        f"readings {args.readings} a phase from {args.stations} stations, {len(elders)} elders, "
        f"at most {args.in_flight} in flight"
    )
    for phase in warm:
        print(phase.line("warm-up (not counted)"))
    for n, (baseline, ingressed) in enumerate(rounds, 1):
        print(baseline.line(f"round {n}"))
        print(ingressed.line(f"round {n}"))
        print(f"round {n} ratio ingress/baseline: {ingressed.rate / baseline.rate:.2f}")
    if rounds:
        ratios = [i.rate / b.rate for b, i in rounds]
        baseline_rate = statistics.median(b.rate for b, _ in rounds)
        ingress_rate = statistics.median(i.rate for _, i in rounds)
        print(f"median baseline (route_event from this process): {baseline_rate:.1f} events/s")
        print(f"median ingress (publish → applied): {ingress_rate:.1f} events/s")
        print(
            f"median ratio ingress/baseline: {statistics.median(ratios):.2f} "
            f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)})"
        )
    print(f"ingress rows (warm-up and every ingress phase): {dict(settled)}")
    print(f"work files: {workdir}")
    phases = warm + [p for pair in rounds for p in pair]
    if not all(p.ok for p in phases) or len(rounds) < args.repeat:
        print("FAILED: a phase lost or duplicated readings", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=1_200, help="Readings in each phase.")
    parser.add_argument(
        "--repeat", type=int, default=3, help="Rounds of a baseline then an ingress phase."
    )
    parser.add_argument("--stations", type=int, default=500)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--broker", default=None, help="Use this broker, not a private one.")
    sys.exit(asyncio.run(main(parser.parse_args())))
