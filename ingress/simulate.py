"""Device traffic for a demo: health-station readings and curtain reports through the broker.

``careflow simulate stations`` publishes readings of the district's elders who consented to
health monitoring, from one station per community, with plausible values and a few alarming
ones; ``careflow simulate curtain`` reports the curtains of today's open checks as the paired
volunteers' phones would: most open, some closed, some never reported. Both read registry ids
from the app database and publish them in payloads only; what they print is counts.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from careflow.areas import DISTRICTS
from careflow.db.tables import Consent, Pairing, Person, Task
from careflow.errors import InputError
from careflow.localtime import STAFF_TIMEZONE
from careflow.registry import PluginRegistry
from ingress.broker import broker_address
from ingress.topics import topic_of

__all__ = [
    "CurtainReport",
    "Reading",
    "SimulationReport",
    "curtain_reports",
    "publish_all",
    "station_readings",
]

HEALTH_MONITOR = "eldercare.health_monitor"
CURTAIN_CHECK = "eldercare.curtain_check"
_BATCH_REF = re.compile(r"(\d{8}\.b\d+)$")


@dataclass(frozen=True, slots=True)
class Reading:
    """One reading to publish (the payload) and whether its values are alarming."""

    payload: dict[str, Any]
    alarming: bool


@dataclass(frozen=True, slots=True)
class CurtainReport:
    """One curtain report to publish."""

    payload: dict[str, Any]
    curtains: str


@dataclass(slots=True)
class SimulationReport:
    """What a simulation published (counts only)."""

    published: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    sources: int = 0
    seconds: float = 0.0

    def lines(self, what: str) -> list[str]:
        """Human lines: totals and the count of each kind."""
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.kinds.items()))
        return [
            f"已发布 published {self.published} {what} in {self.seconds:.1f}s "
            f"from {self.sources} sources",
            f"  {kinds}" if kinds else "  (none)",
        ]


def _consenting_elders(engine: Engine, district: str) -> list[tuple[str, str]]:
    """(elder id, community) of the district's elders with a live health-monitoring consent."""
    with Session(engine) as session:
        rows = session.exec(
            select(Person.id, Person.community_code)
            .join(Consent, col(Consent.subject_id) == col(Person.id))
            .where(Person.kind == "elder", Consent.purpose == "health_monitoring")
            .where(col(Consent.withdrawn_at).is_(None))
            .where(col(Person.community_code).startswith(f"{district}."))
            .order_by(col(Person.id))
        ).all()
    return [(e, c) for e, c in rows]


def _values(rng: random.Random) -> tuple[dict[str, Any], bool]:
    """Plausible measurements; about one reading in twenty-five is alarming."""
    if rng.random() < 0.04:
        alarming = rng.choice(
            (
                {"systolic": rng.randint(182, 205), "diastolic": rng.randint(105, 120)},
                {"glucose": round(rng.uniform(17.0, 22.0), 1)},
                {"spo2": rng.randint(84, 89), "heart_rate": rng.randint(112, 128)},
            )
        )
        return alarming, True
    values: dict[str, Any] = {
        "systolic": rng.randint(108, 148),
        "diastolic": rng.randint(66, 92),
        "heart_rate": rng.randint(58, 92),
    }
    if rng.random() < 0.4:
        values["glucose"] = round(rng.uniform(4.4, 8.5), 1)
    if rng.random() < 0.3:
        values["spo2"] = rng.randint(95, 99)
    return values, False


def station_readings(
    engine: Engine,
    registry: PluginRegistry,
    *,
    district: str,
    count: int,
    seed: int | None = None,
    now: datetime | None = None,
) -> tuple[list[Reading], int]:
    """``count`` readings from the district's stations, and how many stations there are.

    Raises:
        InputError: The district does not run health stations, or none of its elders has
            consented to health monitoring.
    """
    registry.check_district(district)
    if HEALTH_MONITOR not in registry.processes or not registry.is_enabled(
        HEALTH_MONITOR, district
    ):
        on = [
            d
            for d in sorted(DISTRICTS)
            if HEALTH_MONITOR in registry.processes and registry.is_enabled(HEALTH_MONITOR, d)
        ]
        raise InputError(
            "district",
            f"{district} runs no health stations 未开通智慧健康驿站 (they run in: "
            f"{', '.join(on) or 'none'})",
        )
    elders = _consenting_elders(engine, district)
    if not elders:
        raise InputError("district", f"no elder of {district} consented to health monitoring")
    rng = random.Random(seed)
    run = uuid.uuid4().hex[:6]
    stations = {c: f"HS-{c.rsplit('.', 1)[-1][:24]}" for _, c in elders}
    start = now or datetime.now(UTC)
    readings = []
    for n in range(count):
        elder, community = rng.choice(elders)
        device = stations[community]
        values, alarming = _values(rng)
        measured = datetime.fromtimestamp(start.timestamp() + n * 0.001, tz=UTC)
        readings.append(
            Reading(
                payload={
                    "message_id": f"{device}-{run}-{n:07d}",
                    "case_ref": elder,
                    "community": community,
                    "device_id": device,
                    "measured_at": measured.isoformat(),
                    **values,
                },
                alarming=alarming,
            )
        )
    return readings, len(set(stations.values()))


def curtain_reports(
    engine: Engine,
    registry: PluginRegistry,
    *,
    district: str,
    seed: int | None = None,
    day: date | None = None,
    closed: float = 0.1,
    missing: float = 0.1,
) -> list[CurtainReport]:
    """Reports for today's open curtain checks of the district (some closed, some left out).

    Raises:
        InputError: No check of the district is open today.
    """
    registry.check_district(district)
    today = day or datetime.now(STAFF_TIMEZONE).date()
    suffix = f".{today:%Y%m%d}"
    with Session(engine) as session:
        tasks = session.exec(
            select(Task.workflow_id, Task.case_ref)
            .where(Task.district == district, Task.status == "open")
            .where(col(Task.step_key).startswith("check"))
            .where(col(Task.case_ref).endswith(suffix))
            .order_by(col(Task.case_ref))
        ).all()
        elders = {case_ref.removesuffix(suffix) for _, case_ref in tasks}
        pairings = session.exec(
            select(Pairing.elder_id, Pairing.volunteer_id).where(
                Pairing.kind == "curtain",
                col(Pairing.active).is_(True),
                col(Pairing.elder_id).in_(sorted(elders)),
            )
        ).all()
    if not tasks:
        raise InputError(
            "district",
            f"no curtain check of {district} is open today 今日无窗帘查看 (the round runs at "
            f"09:30; start one with `careflow start eldercare.curtain_round --district "
            f"{district} --input -` and {{}})",
        )
    volunteer = dict(pairings)
    rng = random.Random(seed)
    reports = []
    for workflow_id, case_ref in tasks:
        elder = case_ref.removesuffix(suffix)
        draw = rng.random()
        if draw < missing or elder not in volunteer:
            continue  # nobody reports: the check escalates at its deadline
        curtains = "closed" if draw < missing + closed else "open"
        payload: dict[str, Any] = {
            "message_id": f"curtain-{case_ref}",
            "case_ref": case_ref,
            "curtains": curtains,
            "reporter_ref": volunteer[elder],
        }
        batch = _BATCH_REF.search(workflow_id)
        if batch is not None and not workflow_id.startswith(CURTAIN_CHECK):
            payload["batch_ref"] = batch.group(1)
        reports.append(CurtainReport(payload=payload, curtains=curtains))
    return reports


async def publish_all(
    url: str,
    root: str,
    district: str,
    event_type: str,
    payloads: Sequence[dict[str, Any]],
    *,
    rate: float,
    duration: float,
) -> tuple[int, float]:
    """Publish ``payloads`` with QoS 1 at ``rate`` per second for at most ``duration`` seconds.

    Each message carries the ``sent_at`` user property, from which the ingress measures its lag.

    Returns:
        How many were published, and the seconds it took.
    """
    address = broker_address(url)
    topic = topic_of(root, district, event_type)
    started = time.monotonic()
    sent = 0
    async with aiomqtt.Client(
        address.host,
        address.port,
        username=address.username,
        password=address.password,
        identifier=f"careflow-sim-{uuid.uuid4().hex[:8]}",
        protocol=aiomqtt.ProtocolVersion.V5,
    ) as client:
        for payload in payloads:
            elapsed = time.monotonic() - started
            if elapsed >= duration:
                break
            ahead = sent / rate - elapsed
            if ahead > 0:
                await asyncio.sleep(ahead)
            properties = Properties(PacketTypes.PUBLISH)
            properties.UserProperty = ("sent_at", f"{time.time():.6f}")
            await client.publish(topic, json.dumps(payload).encode(), qos=1, properties=properties)
            sent += 1
    return sent, time.monotonic() - started
