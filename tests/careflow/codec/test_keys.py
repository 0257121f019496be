"""Where the key ring comes from: CAREFLOW_CODEC_KEYS, else the key file; bad input named."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from careflow.codec import KeyConfigError, load_key_ring, parse_keys
from careflow.codec.keys import KEY_FILE_NAME
from careflow.settings import Settings

KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def _settings(tmp_path: Path, **values: object) -> Settings:
    # The suite sets CAREFLOW_CODEC_KEYS; these tests choose their own source.
    return Settings(**{"data_dir": tmp_path, "codec_keys": None, **values})  # type: ignore[arg-type]


def test_environment_keys_first_is_active() -> None:
    ring = parse_keys(f" k2:{KEY} , k1:{KEY}")
    assert ring.ids == ("k2", "k1") and ring.active.key_id == "k2"
    assert ring.source == "CAREFLOW_CODEC_KEYS"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "holds no key"),
        (KEY, "entry 1 is not id:base64key"),
        (f"k2:{KEY},:{KEY}", "entry 2 is not id:base64key"),
        ("k2:not base64!", "'k2' is not valid base64"),
        (f"k2:{base64.b64encode(b'short').decode()}", "'k2' is 5 bytes; AES-256 needs 32"),
        (f"k 2:{KEY}", "'k 2' is not a key id"),
        (f"k2:{KEY},k2:{KEY}", "'k2' given twice"),
    ],
)
def test_bad_environment_keys_are_refused_naming_the_setting(text: str, problem: str) -> None:
    with pytest.raises(KeyConfigError) as raised:
        parse_keys(text)
    assert raised.value.field == "CAREFLOW_CODEC_KEYS"
    assert problem in raised.value.problem
    assert KEY not in str(raised.value)


def test_environment_wins_over_the_key_file(tmp_path: Path) -> None:
    settings = _settings(tmp_path, codec_keys=SecretStr(f"env1:{KEY}"))
    assert load_key_ring(settings).ids == ("env1",)


def test_no_key_anywhere_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(KeyConfigError) as raised:
        load_key_ring(_settings(tmp_path))
    assert raised.value.field == "CAREFLOW_CODEC_KEYS"
    assert "careflow keys init" in raised.value.problem
    assert str(tmp_path / KEY_FILE_NAME) in raised.value.problem


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE_NAME
    path.write_text(
        json.dumps({"format": "careflow-codec-keys/1", "keys": [{"id": "a", "key": KEY}]}),
        encoding="utf-8",
    )
    os.chmod(path, 0o644)
    with pytest.raises(KeyConfigError) as raised:
        load_key_ring(_settings(tmp_path))
    assert raised.value.field == "CAREFLOW_CODEC_KEY_FILE" and "chmod 600" in raised.value.problem
    os.chmod(path, 0o600)
    assert load_key_ring(_settings(tmp_path)).ids == ("a",)


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("not json", "cannot read"),
        (json.dumps({"keys": []}), "not a careflow key file"),
        (json.dumps({"format": "careflow-codec-keys/1", "keys": [{"id": "a"}]}), "keys.0"),
        (json.dumps({"format": "careflow-codec-keys/1", "keys": []}), "holds no key"),
    ],
)
def test_a_broken_key_file_is_refused_naming_what(
    tmp_path: Path, document: str, problem: str
) -> None:
    path = tmp_path / "elsewhere.json"
    path.write_text(document, encoding="utf-8")
    os.chmod(path, 0o600)
    with pytest.raises(KeyConfigError, match=problem):
        load_key_ring(_settings(tmp_path, codec_key_file=path))
