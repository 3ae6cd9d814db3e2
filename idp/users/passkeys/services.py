"""The account's passkeys: registering one (the WebAuthn registration ceremony,
verified by py_webauthn), listing, removing.  Every change is audited and mailed to the
account's owner.  Signing in with one: :mod:`.authentication`."""

from __future__ import annotations

import json

from sqlalchemy import delete, func, select
from webauthn import (
    base64url_to_bytes,
    generate_registration_options,
    options_to_json,
    verify_registration_response,
)
from webauthn.helpers import (
    bytes_to_base64url,
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
from .errors import (
    InvalidPasskeyName,
    PasskeyRejected,
    TooManyPasskeys,
)
from .models import Passkey

KIND = "passkey"  # the second factor's kind (idp.users.factors), in audit details
MAX_PER_ACCOUNT = 20
TIMEOUT_MS = challenges.TTL_SECONDS * 1000
MALFORMED = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError)


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


def descriptor(passkey: Passkey) -> PublicKeyCredentialDescriptor:
    known = {t.value for t in AuthenticatorTransport}
    transports = [AuthenticatorTransport(t) for t in passkey.transports.split(",") if t in known]
    return PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(passkey.credential_id), transports=transports or None
    )


def user_handle(user: User) -> bytes:
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
        user_id=user_handle(user),
        user_name=user.email,
        user_display_name=user.display_name or user.email,
        challenge=challenges.begin(challenges.REGISTER, user.id),
        timeout=TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[descriptor(p) for p in of(user)],
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
    except MALFORMED as exc:
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
