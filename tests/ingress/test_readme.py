"""The README's ingress section matches the code: its topic table is what
``careflow ingress topics`` prints, and its ``mosquitto_pub`` examples are events that
validate against the demo registry."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from careflow.registry import PluginRegistry
from careflow.service import prepare_event
from cli import app
from ingress.messages import read_message
from tests.support.plugins import BUILT_IN

README = Path(__file__).resolve().parents[2] / "README.md"
_TABLE = re.compile(r"<!-- ingress-topics -->\n(.*?)\n<!-- /ingress-topics -->", re.DOTALL)


def test_the_readme_topic_table_is_the_generated_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAREFLOW_MQTT_TOPIC_ROOT", raising=False)
    found = _TABLE.search(README.read_text(encoding="utf-8"))
    assert found, "README lacks the <!-- ingress-topics --> table"
    result = CliRunner().invoke(app, ["ingress", "topics"])
    assert result.exit_code == 0, result.output
    assert found.group(1).strip() == result.stdout.strip(), (
        "regenerate the README table with `careflow ingress topics`"
    )


def _publishes() -> list[tuple[str, bytes]]:
    text = README.read_text(encoding="utf-8")
    text = re.sub(r"\\\n\s*", " ", text)
    found = []
    for line in text.splitlines():
        if "mosquitto_pub" not in line:
            continue
        words = shlex.split(line.split("mosquitto_pub", 1)[1])
        options = dict(zip(words[::2], words[1::2], strict=False))
        found.append((options["-t"], options["-m"].encode()))
    return found


def test_the_readme_publishes_events_that_validate(seeded_engine: Engine) -> None:
    publishes = _publishes()
    assert publishes, "README shows no mosquitto_pub example"
    registry = PluginRegistry.build(BUILT_IN)
    for topic, payload in publishes:
        incoming = read_message("careflow", topic, payload)
        assert incoming.problem is None, (topic, incoming.problem)
        assert incoming.event_type is not None and incoming.data is not None
        prepare_event(
            registry, event_type=incoming.event_type, data=incoming.data, engine=seeded_engine
        )
