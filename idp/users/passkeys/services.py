"""The WebAuthn ceremonies (py_webauthn does the verification) and the account's
passkeys: registering, signing in with one (with or without a password first), listing,
removing.  Every change is audited and mailed to the account's owner."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from idp.audit import services as audit
from idp.core import mail, outbox
from idp.core.db_types import utcnow
from idp.core.extensions import db
from idp.core.i18n import _

from ..factors import AUDIT_FACTOR_ADDED, AUDIT_FACTOR_REMOVED
from ..models import User
from . import challenges, relying_party
from .amr import amr_of
from .errors import (
    InvalidPasskeyName,
    PasskeyCloned,
    PasskeyNotRecognised,
    PasskeyRejected,
    TooManyPasskeys,
)
from .models import Passkey

KIND = "passkey"  # the second factor's kind (idp.users.factors), in audit details
PASSKEY_USED = "passkey.used"
PASSKEY_COUNTER_REGRESSED = "passkey.counter_regressed"
MAX_PER_ACCOUNT = 20
_TIMEOUT_MS = challenges.TTL_SECONDS * 1000
_MALFORMED = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError)


@dataclass(frozen=True)
class Assertion:
    """A verified use of a passkey: whose, which, and the ``amr`` it proves."""

    user: User
    passkey: Passkey
    user_verified: bool
    amr: tuple[str, ...]


def of(user: User) -> list[Passkey]:
    """The account's passkeys, the most recently added first."""
    return list(
        db.session.scalars(
            select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.id.desc())
        )
    )


def has_any(user: User) -> bool:
    query = select(func.count()).select_from(Passkey).where(Passkey.user_id == user.id)
    return bool(db.session.scalar(query))


def _descriptor(passkey: Passkey) -> PublicKeyCredentialDescriptor:
    known = {t.value for t in AuthenticatorTransport}
    transports = [AuthenticatorTransport(t) for t in passkey.transports.split(",") if t in known]
    return PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(passkey.credential_id), transports=transports or None
    )


def _user_handle(user: User) -> bytes:
    """The WebAuthn user handle: the opaque ``sub`` (no address, nothing personal)."""
    return user.sub.encode()


# -- registration --------------------------------------------------------------------------
def registration_options(user: User) -> dict:
    """Options for ``navigator.credentials.create()``: a discoverable credential (it signs
    in without an address), user verification preferred, attestation ``none``, none of
    the account's passkeys again."""
    if len(of(user)) >= MAX_PER_ACCOUNT:
        raise TooManyPasskeys()
    options = generate_registration_options(
        rp_id=relying_party.rp_id(),
        rp_name=relying_party.name(),
        user_id=_user_handle(user),
        user_name=user.email,
        user_display_name=user.display_name or user.email,
        challenge=challenges.begin(challenges.REGISTER, user.id),
        timeout=_TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[_descriptor(p) for p in of(user)],
    )
    return json.loads(options_to_json(options))


def clean_name(name) -> str:
    if not isinstance(name, str) or len(name.strip()) > 64:
        raise InvalidPasskeyName()
    return " ".join(name.split()) or _("Passkey")


def register(user: User, credential, name) -> Passkey:
    """Verify the authenticator's answer to this browser's registration challenge and
    keep the new passkey."""
    label = clean_name(name)
    challenge = challenges.consume(challenges.REGISTER, user.id)
    try:
        parsed = parse_registration_credential_json(credential)
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=relying_party.rp_id(),
            expected_origin=relying_party.origin(),
        )
    except _MALFORMED as exc:
        raise PasskeyRejected() from exc
    credential_id = bytes_to_base64url(verified.credential_id)
    if db.session.scalar(select(Passkey.id).where(Passkey.credential_id == credential_id)):
        raise PasskeyRejected()  # excludeCredentials should have stopped it: already ours
    passkey = Passkey(
        user_id=user.id,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        name=label,
        transports=",".join(t.value for t in parsed.response.transports or ()),
        aaguid=str(verified.aaguid),
        backup_eligible=verified.credential_device_type.value == "multi_device",
        backed_up=verified.credential_backed_up,
        created_at=utcnow(),
    )
    db.session.add(passkey)
    db.session.flush()
    audit.record(AUDIT_FACTOR_ADDED, user.id, commit=False, kind=KIND, passkey_id=passkey.id)
    _mail(user, _("A passkey was added to your account"), _added_text(label))
    outbox.commit()
    return passkey


def _added_text(label: str) -> str:
    return _(
        "The passkey \u201c%(name)s\u201d was added to your account. It can now sign you "
        "in. If this was not you, remove it on your account page and change your "
        "password.",
        name=label,
    )


def _mail(user: User, subject: str, body: str) -> None:
    mail.send(user.email, subject, body)


# -- removal -------------------------------------------------------------------------------
def remove(user: User, passkey_id: int) -> bool:
    """Remove one of the account's passkeys (only its own: the id comes from a form);
    whether there was one."""
    passkey = db.session.scalar(
        select(Passkey).where(Passkey.id == passkey_id, Passkey.user_id == user.id)
    )
    if passkey is None:
        return False
    label = passkey.name
    db.session.execute(delete(Passkey).where(Passkey.id == passkey.id))
    audit.record(AUDIT_FACTOR_REMOVED, user.id, commit=False, kind=KIND, passkey_id=passkey_id)
    text = _(
        "The passkey \u201c%(name)s\u201d was removed from your account and no longer "
        "signs you in. If this was not you, change your password.",
        name=label,
    )
    _mail(user, _("A passkey was removed from your account"), text)
    outbox.commit()
    return True


def remove_all(user: User, actor: str = "self") -> bool:
    """Every passkey of the account (its deletion, support's reset), uncommitted;
    whether there was one."""
    removed = db.session.execute(delete(Passkey).where(Passkey.user_id == user.id))
    return removed.rowcount > 0


# -- authentication ------------------------------------------------------------------------
def sign_in_options() -> dict:
    """Options for a passwordless ``navigator.credentials.get()``: no account named and
    no credentials listed (discoverable credentials), so the answer says nothing about
    any address."""
    options = generate_authentication_options(
        rp_id=relying_party.rp_id(),
        challenge=challenges.begin(challenges.SIGN_IN),
        timeout=_TIMEOUT_MS,
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return json.loads(options_to_json(options))


def second_step_options(user: User) -> dict:
    """Options for the second step of ``user`` (whose password was just proved): their
    passkeys listed, so any authenticator holding one answers."""
    options = generate_authentication_options(
        rp_id=relying_party.rp_id(),
        challenge=challenges.begin(challenges.SECOND_STEP, user.id),
        timeout=_TIMEOUT_MS,
        allow_credentials=[_descriptor(p) for p in of(user)],
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
    except _MALFORMED as exc:
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
    except _MALFORMED as exc:
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
    if handle is not None and handle != _user_handle(user):
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
