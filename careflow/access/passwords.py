"""Password hashing with argon2id (argon2-cffi); hashes only, never the password itself."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["MIN_PASSWORD_LENGTH", "hash_password", "needs_rehash", "verify_password"]

MIN_PASSWORD_LENGTH = 10


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    # Built on first use, not at import: the parameters are argon2-cffi's RFC 9106 defaults.
    return PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted; encodes its own parameters)."""
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; False for an account with no password."""
    if not password_hash:
        # Spend the same time as a real check, so a missing account is not told apart by timing.
        _hasher().hash(password)
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with weaker parameters than today's."""
    return _hasher().check_needs_rehash(password_hash)
