"""argon2id password hashing with parameters from config, rehashed when they change."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app


def hasher() -> PasswordHasher:
    """The app's hasher (built once per app from IDP_ARGON2_* settings)."""
    ph = current_app.extensions.get("idp_password_hasher")
    if ph is None:
        cfg = current_app.config
        ph = PasswordHasher(
            time_cost=cfg["IDP_ARGON2_TIME_COST"],
            memory_cost=cfg["IDP_ARGON2_MEMORY_COST"],
            parallelism=cfg["IDP_ARGON2_PARALLELISM"],
            type=Type.ID,
        )
        current_app.extensions["idp_password_hasher"] = ph
    return ph


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify(stored_hash: str, password: str) -> bool:
    try:
        return hasher().verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return hasher().check_needs_rehash(stored_hash)


def burn(password: str) -> None:
    """Spend the time of a real verification, so unknown accounts answer as slowly."""
    dummy = current_app.extensions.get("idp_dummy_hash")
    if dummy is None:
        dummy = current_app.extensions["idp_dummy_hash"] = hash_password("not-a-real-password")
    verify(dummy, password)
