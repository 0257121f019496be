"""The README's examples run as written: every start and event payload it shows validates.

A payload in the README that no longer matches its model (a renamed field, a child reused
where a new one is needed, a community of another district) fails here, so the examples cannot
drift from the code. Placeholders the reader fills in (``C2612…``, ``T…``) are read with the
ellipsis as ``0``.
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from careflow.db.refs import check_refs
from careflow.inputs import registry_refs, validate_external
from careflow.registry import PluginRegistry, discover_plugins
from careflow.service import prepare_start

README = Path(__file__).resolve().parents[1] / "README.md"
# Every fenced block, whatever its language, so a ``python`` or ``toml`` block cannot shift
# which fences open and which close; only the shell ones hold examples.
_BLOCK = re.compile(r"```(?P<lang>\w*)\n(?P<body>.*?)```", re.DOTALL)
_SHELL = {"", "sh", "bash", "console"}
_ECHO = re.compile(
    r"echo '(?P<json>\{[^']*\})'\s*\|\s*(?:\\\s*)?"
    r"careflow (?P<command>event|start) (?P<rest>[^\n]*)",
)
_HEREDOC = re.compile(r"cat > (?P<file>\S+) <<'EOF'\n(?P<json>.*?)\nEOF", re.DOTALL)
_FILE_START = re.compile(r"careflow start (?P<rest>.*?--input (?P<file>[\w.]+\.json)[^\n]*)")


@dataclass(frozen=True)
class Example:
    command: str
    target: str
    payload: Any
    options: dict[str, str]

    def __str__(self) -> str:
        return f"{self.command} {self.target} {json.dumps(self.payload, ensure_ascii=False)}"


def _options(words: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for flag, value in itertools.pairwise(words):
        if flag.startswith("-"):
            found[flag.lstrip("-")] = value
    return found


def _examples() -> list[Example]:
    text = README.read_text(encoding="utf-8").replace("…", "0")
    examples: list[Example] = []
    for fence in _BLOCK.finditer(text):
        if fence["lang"] not in _SHELL:
            continue
        block = re.sub(r"\\\n\s*", " ", fence["body"])
        files = {m["file"]: json.loads(m["json"]) for m in _HEREDOC.finditer(block)}
        for match in _ECHO.finditer(block):
            words = shlex.split(match["rest"])
            examples.append(
                Example(match["command"], words[0], json.loads(match["json"]), _options(words))
            )
        for match in _FILE_START.finditer(block):
            if match["file"] in files:
                words = shlex.split(match["rest"])
                examples.append(Example("start", words[0], files[match["file"]], _options(words)))
    return examples


EXAMPLES = _examples()


def test_the_readme_shows_starts_and_events() -> None:
    commands = {example.command for example in EXAMPLES}
    assert commands == {"start", "event"} and len(EXAMPLES) >= 10, EXAMPLES


@pytest.fixture(scope="module")
def readme_registry() -> PluginRegistry:
    return PluginRegistry.build(discover_plugins())


@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_readme_payload_validates(
    example: Example, readme_registry: PluginRegistry, seeded_engine: Engine
) -> None:
    if example.command == "start":
        prepare_start(
            readme_registry,
            process=example.target,
            district=example.options["district"],
            community=example.options.get("community"),
            case_ref=example.options.get("case-ref"),
            request=example.payload,
            started_by="readme",
            engine=seeded_engine,
        )
        return
    event = validate_external(
        readme_registry.route(example.target).model, example.payload, field="data"
    )
    with Session(seeded_engine) as session:
        check_refs(session, registry_refs(event, prefix="data"), district=event.district)
