"""``careflow keys``: the payload encryption keys (ids and dates only, never key material).

* ``careflow keys list``: every key id, which one encrypts, when each was made.
* ``careflow keys init``: create the key file with one fresh key (``careflow dev`` does this
  on its first run); a file that exists is left as it is.
* ``careflow keys rotate``: a new active key in the key file, every older key kept so the
  histories written under them still decrypt; prints the new id.
* ``careflow keys generate``: print a fresh ``id:base64key`` entry for ``CAREFLOW_CODEC_KEYS``
  (the only command that prints key material, because that is what it is asked for).

When ``CAREFLOW_CODEC_KEYS`` is set the ring comes from the environment: ``list`` shows it,
``init`` and ``rotate`` refuse (the environment is changed where it is set).
"""

from __future__ import annotations

import base64
from typing import Annotated

import typer

from careflow.codec.errors import KeyConfigError
from careflow.codec.keys import (
    KEYS_ENV,
    KeyRing,
    generate_key,
    key_file_path,
    load_key_ring,
    rotate_key_file,
    write_key_file,
)
from careflow.localtime import local_minute
from careflow.settings import Settings
from cli.app import cli_errors, echo_json, echo_lines, state

__all__ = ["ensure_key_file", "generate", "init", "keys_app", "list_", "register", "rotate"]

keys_app = typer.Typer(
    help="Payload encryption keys · 加密密钥 (ids and dates only).", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def _refuse_environment(settings: Settings, what: str) -> None:
    if settings.codec_keys is not None:
        raise KeyConfigError(
            KEYS_ENV,
            f"is set, so the keys come from the environment, not the key file; to {what}, "
            f"change {KEYS_ENV} where it is set (new key first, older ones after it; "
            "`careflow keys generate` makes an entry)",
        )


def ensure_key_file(settings: Settings) -> KeyRing | None:
    """Create the key file with one fresh key unless it exists or the environment holds keys.

    Returns:
        The new ring, or None when nothing was created.
    """
    if settings.codec_keys is not None:
        return None
    path = key_file_path(settings)
    if path.exists():
        return None
    ring = KeyRing([generate_key()], source=str(path))
    write_key_file(path, ring)
    return ring


@cli_errors
def list_(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Key ids, which one encrypts, when each was made · 密钥列表."""
    ring = load_key_ring(state(ctx).settings)
    rows = [
        {
            "id": key.key_id,
            "active": key.key_id == ring.active.key_id,
            "created": key.created.isoformat() if key.created else None,
        }
        for key in ring
    ]
    if as_json:
        echo_json({"source": ring.source, "keys": rows})
        return
    echo_lines(
        [f"来源 source: {ring.source}"]
        + [
            f"{'* 加密 active ' if row['active'] else '  仅解密 decrypt'} {row['id']}  "
            f"{local_minute(key.created, missing='(environment)')}"
            for row, key in zip(rows, ring, strict=True)
        ]
    )


@cli_errors
def init(ctx: typer.Context) -> None:
    """Create the key file with one fresh key (kept if it exists) · 创建密钥文件."""
    settings = state(ctx).settings
    _refuse_environment(settings, "add a key")
    path = key_file_path(settings)
    made = ensure_key_file(settings)
    if made is None:
        ring = load_key_ring(settings)
        typer.echo(f"已存在 kept {path}: keys {len(ring)}, active {ring.active.key_id}")
        return
    typer.echo(f"已创建 created {path} (mode 0600), active key {made.active.key_id}")


@cli_errors
def rotate(ctx: typer.Context) -> None:
    """Make a new key active; older keys stay to decrypt old histories · 轮换密钥."""
    settings = state(ctx).settings
    _refuse_environment(settings, "rotate")
    new = rotate_key_file(key_file_path(settings))
    typer.echo(new.key_id)


@cli_errors
def generate(ctx: typer.Context) -> None:
    """Print a fresh id:base64key entry for CAREFLOW_CODEC_KEYS (key material!) · 生成密钥."""
    key = generate_key()
    typer.echo(f"{key.key_id}:{base64.b64encode(key.material).decode('ascii')}")


def register(app: typer.Typer) -> None:
    """Add the ``keys`` group to ``app``."""
    keys_app.command("list")(list_)
    keys_app.command("init")(init)
    keys_app.command("rotate")(rotate)
    keys_app.command("generate")(generate)
    app.add_typer(keys_app, name="keys")
