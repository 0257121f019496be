"""Helpers shared by the CLI tests."""

from __future__ import annotations

import socket

from typer.testing import Result

__all__ = ["assert_bad_input", "free_port"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def assert_bad_input(result: Result, *expected: str) -> str:
    """Exit 2, nothing on stdout, one stderr line that mentions every ``expected`` text."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]
