"""What a passkey proves, as RFC 8176 authentication method references."""

from __future__ import annotations

from ..methods import HWK, SWK, USER


def amr_of(backup_eligible: bool, user_verified: bool) -> tuple[str, ...]:
    """``hwk`` for a device-bound key, ``swk`` for a synced (backup-eligible) one, which
    can leave the device it was made on; plus ``user`` when the authenticator verified
    the person (WebAuthn's UV flag: a PIN or biometric), which makes the passkey alone
    two factors of different kinds (``idp.users.methods.combined``)."""
    methods = (SWK if backup_eligible else HWK,)
    return methods + ((USER,) if user_verified else ())
