"""Signing in with a passkey (the WebAuthn authentication ceremony, verified by
py_webauthn): without a password (a discoverable credential names its account) or as
the second step after one.  The signature counter is checked after the signature, and a
counter that goes backwards is refused and audited."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from webauthn import (
    generate_authentication_options,
    options_to_json,
    verify_authentication_response,
)
from webauthn.helpers import bytes_to_base64url, parse_authentication_credential_json
from webauthn.helpers.structs import UserVerificationRequirement

from idp.audit import services as audit
from idp.core.db_types import utcnow
from idp.core.extensions import db

from ..models import User
from . import challenges, relying_party
from .amr import amr_of
from .errors import PasskeyCloned, PasskeyNotRecognised, PasskeyRejected
from .models import Passkey
from .services import MALFORMED, TIMEOUT_MS, descriptor, of, user_handle

PASSKEY_USED = "passkey.used"
PASSKEY_COUNTER_REGRESSED = "passkey.counter_regressed"


@dataclass(frozen=True)
class Assertion:
    """A verified use of a passkey: whose, which, and the ``amr`` it proves."""

    user: User
    passkey: Passkey
    user_verified: bool
    amr: tuple[str, ...]


def sign_in_options() -> dict:
    """Options for a passwordless ``navigator.credentials.get()``: no account named and
    no credentials listed (discoverable credentials), so the answer says nothing about
    any address."""
    options = generate_authentication_options(
        rp_id=relying_party.rp_id(),
        challenge=challenges.begin(challenges.SIGN_IN),
        timeout=TIMEOUT_MS,
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return json.loads(options_to_json(options))


def second_step_options(user: User) -> dict:
    """Options for the second step of ``user`` (whose password was just proved): their
    passkeys listed, so any authenticator holding one answers."""
    options = generate_authentication_options(
        rp_id=relying_party.rp_id(),
        challenge=challenges.begin(challenges.SECOND_STEP, user.id),
        timeout=TIMEOUT_MS,
        allow_credentials=[descriptor(p) for p in of(user)],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return json.loads(options_to_json(options))


def sign_in(credential) -> Assertion:
    """A passwordless sign-in: the passkey names its account."""
    challenge = challenges.consume(challenges.SIGN_IN)
    return _verify(credential, challenge, None)


def second_step(user: User, credential) -> Assertion:
    """The second factor of ``user``: only one of their own passkeys answers."""
    challenge = challenges.consume(challenges.SECOND_STEP, user.id)
    return _verify(credential, challenge, user)


def _verify(credential, challenge: bytes, expected: User | None) -> Assertion:
    try:
        parsed = parse_authentication_credential_json(credential)
    except MALFORMED as exc:
        raise PasskeyRejected() from exc
    found = _holder(parsed, expected)
    passkey, user = found
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=relying_party.rp_id(),
            expected_origin=relying_party.origin(),
            credential_public_key=passkey.public_key,
            # The counter is checked below, after the signature, so that a regression
            # is audited only when the real key signed it.
            credential_current_sign_count=0,
        )
    except MALFORMED as exc:
        raise PasskeyRejected() from exc
    _check_counter(passkey, verified.new_sign_count)
    passkey.sign_count = verified.new_sign_count
    passkey.backed_up = verified.credential_backed_up
    passkey.last_used_at = utcnow()
    audit.record(PASSKEY_USED, user.id, commit=False, passkey_id=passkey.id)
    db.session.commit()
    amr = amr_of(passkey.backup_eligible, verified.user_verified)
    return Assertion(user, passkey, verified.user_verified, amr)


def record_sign_in(user: User) -> None:
    """A passwordless sign-in, recorded as a sign-in (left for the session's commit)."""
    user.last_login_at = utcnow()
    audit.record(audit.LOGIN_OK, user.id, commit=False, method="passkey")


def _holder(parsed, expected: User | None) -> tuple[Passkey, User]:
    """The passkey the answer names and its account; refused when it is not one of
    ``expected``'s, when the account is disabled, or when the user handle the
    authenticator returned is another account's."""
    row = db.session.execute(
        select(Passkey, User)
        .join(User, User.id == Passkey.user_id)
        .where(Passkey.credential_id == bytes_to_base64url(parsed.raw_id))
    ).first()
    if row is None:
        raise PasskeyNotRecognised()
    passkey, user = row
    handle = parsed.response.user_handle
    if user.disabled or (expected is not None and user.id != expected.id):
        raise PasskeyNotRecognised()
    if handle is not None and handle != user_handle(user):
        raise PasskeyNotRecognised()
    return passkey, user


def _check_counter(passkey: Passkey, new_count: int) -> None:
    """WebAuthn L3 §6.1.1: a counter that does not grow (when either side keeps one)
    means a cloned authenticator; refused and audited."""
    stored = passkey.sign_count or 0
    if (new_count or stored) and new_count <= stored:
        audit.record(
            PASSKEY_COUNTER_REGRESSED,
            passkey.user_id,
            passkey_id=passkey.id,
            stored=stored,
            received=new_count,
        )
        raise PasskeyCloned()
