"""``careflow keys``: init, rotate and list show ids and dates, never key material."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from careflow.codec import parse_keys, read_key_file
from cli import app


@pytest.fixture
def key_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data dir of its own and no keys in the environment (the suite sets some)."""
    monkeypatch.delenv("CAREFLOW_CODEC_KEYS")
    monkeypatch.setenv("CAREFLOW_DATA_DIR", str(tmp_path))
    return tmp_path


def _keys(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["keys", *args])
    return result.exit_code, result.output


def test_init_rotate_list(key_dir: Path) -> None:
    path = key_dir / "codec-keys.json"
    code, out = _keys("list")
    assert code == 2 and "careflow keys init" in out
    code, out = _keys("init")
    assert code == 0 and "mode 0600" in out
    first = read_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    code, out = _keys("init")  # kept as it is
    assert code == 0 and read_key_file(path).ids == first.ids
    code, out = _keys("rotate")
    new_id = out.strip()
    assert code == 0 and read_key_file(path).ids == (new_id, first.active.key_id)
    code, out = _keys("list", "--json")
    listed = json.loads(out)
    assert code == 0 and listed["source"] == str(path)
    assert [(k["id"], k["active"]) for k in listed["keys"]] == [
        (new_id, True),
        (first.active.key_id, False),
    ]
    assert all(k["created"].endswith("+00:00") for k in listed["keys"])  # UTC ISO
    code, out = _keys("list")
    assert code == 0 and new_id in out and "active" in out
    for key in read_key_file(path):
        material = base64.b64encode(key.material).decode()
        assert material not in out and material not in json.dumps(listed)


def test_environment_keys_are_listed_and_not_rotated_here(
    key_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, entry = _keys("generate")
    assert code == 0
    ring = parse_keys(entry.strip())  # a valid CAREFLOW_CODEC_KEYS entry
    monkeypatch.setenv("CAREFLOW_CODEC_KEYS", entry.strip())
    code, out = _keys("list", "--json")
    assert code == 0 and json.loads(out)["keys"] == [
        {"id": ring.active.key_id, "active": True, "created": None}
    ]
    code, out = _keys("rotate")
    assert code == 2 and "CAREFLOW_CODEC_KEYS" in out and "generate" in out
    assert not (key_dir / "codec-keys.json").exists()
