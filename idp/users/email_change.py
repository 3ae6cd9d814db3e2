"""Changing a signed-in account's address, proven by a code mailed to the new one.

Nothing changes until the code is entered.  The current address is told of the request
and of the change.  As at sign-up, the answer never says whether the new address has an
account: for a taken one its owner is mailed instead, and the requester gets a code
that cannot work, with the same clock, counter and cooldown as a real one.

The codes live in ``email_verifications`` beside sign-up's, keyed to the new address:
the stored digest is of the code *and* the address (kept in the browser's signed
session), so an email-change code never verifies a sign-up and the other way round,
and the attempts are counted in the database (a replayed cookie does not reset them).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from idp.audit import services as audit
from idp.core import mail, outbox
from idp.core.db_types import utcnow
from idp.core.extensions import db
from idp.core.i18n import _

from . import codes, passwords
from .accounts import by_email, normalise_email, profile_changed
from .errors import (
    AccountError,
    ExpiredCode,
    InvalidCredentials,
)
from .models import EmailVerification, User

EMAIL_CHANGED = "email.changed"
EMAIL_CHANGE_REQUESTED = "email.change_requested"


class SameEmail(AccountError):
    error = "same_email"
    description = "This is already your email address."
    field = "new_email"


def _digest(code: str, new_email: str) -> str:
    return codes._digest(f"email-change:{new_email}:{code}")


def request_change(user: User, new_email: object, password: object) -> str:
    """Start changing ``user``'s address to ``new_email`` (the password proves the
    owner); returns the normalised new address, which the caller keeps for
    :func:`confirm`.  Answers the same whether or not the address is taken."""
    if not isinstance(password, str) or not passwords.verify(user.password_hash, password):
        raise InvalidCredentials("Your password is incorrect.")
    try:
        new_email = normalise_email(new_email)
    except AccountError as exc:
        exc.field = "new_email"
        raise
    if new_email == user.email:
        raise SameEmail()
    taken = by_email(new_email) is not None
    _issue(user, new_email, real=not taken)
    if taken:
        mail.send(
            new_email,
            _("Someone tried to use your address"),
            _(
                "Somebody tried to move another account to this address, which already has "
                "one. Nothing was changed. If it was you, sign in to that account instead."
            ),
        )
    mail.send(
        user.email,
        _("A change of your email address was asked for"),
        _(
            "Someone signed in to your account asked to change its address to %(email)s. "
            "Nothing changes until the code sent there is entered. If it was not you, "
            "change your password now.",
            email=new_email,
        ),
    )
    audit.record(EMAIL_CHANGE_REQUESTED, user.id, commit=False)
    outbox.commit()
    return new_email


def _issue(user: User, new_email: str, real: bool) -> None:
    """A fresh code for the change (earlier ones die); mailed when the change is real,
    else a secret nobody is told, so it can never verify."""
    now = utcnow()
    _retire(user, now)
    code = f"{secrets.randbelow(1_000_000):06d}" if real else secrets.token_urlsafe(32)
    ttl = current_app.config["IDP_EMAIL_CODE_TTL"]
    db.session.add(
        EmailVerification(
            user_id=user.id,
            code_hash=_digest(code, new_email),
            attempts=0,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl),
        )
    )
    if real:
        mail.send(
            new_email,
            _("Your verification code: %(code)s", code=code),
            _(
                "Enter %(code)s to make this your account's address. "
                "It expires in %(minutes)s minutes.",
                code=code,
                minutes=ttl // 60,
            ),
        )


def _retire(user: User, now) -> None:
    db.session.execute(
        update(EmailVerification)
        .where(EmailVerification.user_id == user.id, EmailVerification.consumed_at.is_(None))
        .values(consumed_at=now)
    )


def _check(user: User, new_email: str, code: object) -> None:
    """:func:`idp.users.codes.spend_latest` for a code bound to ``new_email``."""
    entered = code.strip() if isinstance(code, str) else ""
    codes.spend_latest(user, _digest(entered, new_email))


def resend(user: User, new_email: str) -> int:
    """A new code unless one went out within the cooldown; the seconds before the next."""
    wait = codes.resend_wait(user)
    if wait:
        return wait
    _issue(user, new_email, real=by_email(new_email) is None)
    outbox.commit()
    return codes.RESEND_COOLDOWN_SECONDS


def confirm(user: User, new_email: str, code: object) -> None:
    """Check the code (counting attempts, as sign-up's): on success the address changes,
    proven, and the old one is told.  Raises a subclass of InvalidCode."""
    old_email, was_verified = user.email, user.email_verified
    _check(user, new_email, code)
    user.email = new_email
    user.email_verified = True
    user.updated_at = utcnow()
    profile_changed(user, "email", *(() if was_verified else ("email_verified",)))
    audit.record(EMAIL_CHANGED, user.id, commit=False)
    mail.send(
        old_email,
        _("Your email address was changed"),
        _(
            "Your account's address is now %(email)s. If it was not you, contact us.",
            email=new_email,
        ),
    )
    try:
        outbox.commit()
    except IntegrityError:
        # Taken between the request and the code: as for an address taken before.
        db.session.rollback()
        raise ExpiredCode() from None
