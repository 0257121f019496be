"""Case keys: stable per key, different across keys, where the key comes from, what it refuses."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from careflow.privacy.pseudonyms import (
    CASE_KEY_LENGTH,
    PSEUDONYM_KEY_ENV,
    PseudonymKeyError,
    Pseudonyms,
    case_key,
    default_pseudonyms,
    ensure_dev_pseudonym_key,
    ensure_pseudonym_key,
    is_case_key,
    load_pseudonyms,
)
from careflow.registry import PluginRegistry
from careflow.service import prepare_start
from careflow.settings import Settings

SECRET_A = b"A" * 32
SECRET_B = b"B" * 32


def _settings(data_dir: Path, secret: str | None = None) -> Settings:
    return Settings(data_dir=data_dir, pseudonym_key=secret)


def test_a_case_key_is_stable_and_shaped_like_one() -> None:
    first = Pseudonyms(SECRET_A, source="test").case_key("P00012")
    again = Pseudonyms(SECRET_A, source="again").case_key("P00012")
    assert first == again
    assert len(first) == CASE_KEY_LENGTH and is_case_key(first)
    assert "P00012" not in first and "00012" not in first


def test_keys_differ_per_secret_and_per_case_ref() -> None:
    a, b = Pseudonyms(SECRET_A), Pseudonyms(SECRET_B)
    assert a.case_key("P00012") != b.case_key("P00012")
    refs = ["P00012", "P00013", "P00012.20261201", "F2026.P00012", "P00012.Y2026"]
    assert len({a.case_key(ref) for ref in refs}) == len(refs)


def test_workflow_ids_are_the_keyed_one_then_the_one_from_before_keys() -> None:
    p = Pseudonyms(SECRET_A)
    keyed, before = p.case_workflow_ids("eldercare.tiers", "wanbailin", "P00012")
    assert keyed == f"eldercare.tiers-wanbailin-{p.case_key('P00012')}"
    assert keyed == p.case_workflow_id("eldercare.tiers", "wanbailin", "P00012")
    assert before == "eldercare.tiers-wanbailin-P00012"


def test_the_secret_never_shows_in_repr_or_messages() -> None:
    p = Pseudonyms(SECRET_A, source="test")
    assert "AAAA" not in repr(p)
    with pytest.raises(PseudonymKeyError) as short:
        Pseudonyms(b"short secret", source="test")
    assert short.value.field == "pseudonym_key"
    assert "short secret" not in str(short.value)


def test_the_environment_key_comes_first(tmp_path: Path) -> None:
    ensure_pseudonym_key(tmp_path)
    from_env = load_pseudonyms(_settings(tmp_path, base64.b64encode(SECRET_A).decode()))
    from_file = load_pseudonyms(_settings(tmp_path))
    assert from_env.source == PSEUDONYM_KEY_ENV
    assert from_env.case_key("P00012") == Pseudonyms(SECRET_A).case_key("P00012")
    assert from_file.source == str(tmp_path / "pseudonym.key")
    assert from_file.case_key("P00012") != from_env.case_key("P00012")


def test_a_missing_key_is_refused_naming_how_to_provide_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PSEUDONYM_KEY_ENV, raising=False)
    with pytest.raises(PseudonymKeyError) as missing:
        load_pseudonyms(_settings(tmp_path / "nothing-here"))
    assert missing.value.field == "pseudonym_key"
    assert PSEUDONYM_KEY_ENV in missing.value.problem
    assert "careflow dev" in missing.value.problem
    assert not (tmp_path / "nothing-here").exists()  # nothing made outside a checkout


def test_a_malformed_environment_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PseudonymKeyError, match="not base64"):
        load_pseudonyms(_settings(tmp_path, "not base64 at all!"))


def test_the_dev_stack_makes_a_private_key_once_and_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PSEUDONYM_KEY_ENV, raising=False)
    settings = _settings(tmp_path / "data")
    path = ensure_dev_pseudonym_key(settings)
    assert path == tmp_path / "data" / "pseudonym.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()
    key = load_pseudonyms(settings).case_key("P00012")
    # Never rotated: a second start keeps the file, so running processes stay reachable.
    assert ensure_dev_pseudonym_key(settings) == path
    assert path.read_bytes() == before
    assert load_pseudonyms(settings).case_key("P00012") == key
    assert len(base64.b64decode(before)) == 32


def test_the_dev_stack_makes_no_file_when_the_environment_has_the_key(tmp_path: Path) -> None:
    secret = base64.b64encode(SECRET_A).decode()
    assert ensure_dev_pseudonym_key(_settings(tmp_path, secret)) is None
    assert not (tmp_path / "pseudonym.key").exists()


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = ensure_pseudonym_key(tmp_path)
    os.chmod(path, 0o644)
    with pytest.raises(PseudonymKeyError, match="chmod 600"):
        load_pseudonyms(_settings(tmp_path))


def test_tests_run_with_the_fixed_test_key() -> None:
    # tests/conftest.py sets CAREFLOW_PSEUDONYM_KEY: every test and subprocess keys alike.
    from tests.conftest import TEST_PSEUDONYM_KEY

    expected = Pseudonyms(base64.b64decode(TEST_PSEUDONYM_KEY)).case_key("P00012")
    assert default_pseudonyms().source == PSEUDONYM_KEY_ENV
    assert case_key("P00012") == expected


def test_the_default_follows_the_environment_it_is_read_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Kept between calls, yet a service whose settings change keys with the new ones.
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, base64.b64encode(SECRET_A).decode())
    keyed_a = case_key("P00012")
    assert default_pseudonyms() is default_pseudonyms()
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, base64.b64encode(SECRET_B).decode())
    assert case_key("P00012") == Pseudonyms(SECRET_B).case_key("P00012") != keyed_a
    # No key anywhere: refused now, and found once the data dir has one.
    monkeypatch.delenv(PSEUDONYM_KEY_ENV)
    monkeypatch.setenv("CAREFLOW_DATA_DIR", str(tmp_path))
    with pytest.raises(PseudonymKeyError):
        default_pseudonyms()
    ensure_pseudonym_key(tmp_path)
    assert default_pseudonyms().source == str(tmp_path / "pseudonym.key")


def test_a_start_carries_the_key_in_its_id_and_the_ref_in_its_input(
    full_registry: PluginRegistry,
) -> None:
    prepared = prepare_start(
        full_registry,
        process="eldercare.tiers",
        district="wanbailin",
        request={},
        started_by="S0001",
        case_ref="P00012",
    )
    key = case_key("P00012")
    assert prepared.workflow_id == f"eldercare.tiers-wanbailin-{key}"
    assert prepared.context.case_ref == "P00012" and prepared.context.case_key == key
    options = prepared.start_options()
    assert "P00012" not in options["static_summary"] and key in options["static_summary"]
    shown = {pair.key.name: pair.value for pair in options["search_attributes"]}
    assert shown["CareCaseRef"] == key
