"""Accounts: sign-up, sign-in, email verification, password reset, profile.

Every query on the user tables lives here.  Public flows never say whether an
address has an account: sign-up and reset answer the same either way, and a
sign-in with an unknown address spends as long as one with a wrong password.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from idp.audit import services as audit
from idp.core import mail, outbox
from idp.core.db_types import utcnow
from idp.core.extensions import db

from . import passwords, sessions
from .errors import (
    EmailTaken,
    InvalidCode,
    InvalidCredentials,
    InvalidEmail,
    InvalidName,
    InvalidResetToken,
    WeakPassword,
)
from .models import ADMIN, CUSTOMER, EmailVerification, PasswordReset, User

# No separators or quotes: a comma or angle bracket in the To header adds recipients.
_ADDRESS_CHAR = r"[^@\s,;:<>()\[\]\\\"]"
_EMAIL_RE = re.compile(rf"^{_ADDRESS_CHAR}{{1,64}}@{_ADDRESS_CHAR}+\.{_ADDRESS_CHAR}+$")
RESET_KIND = "password_reset"  # outbox kind: a /forgot request, mailed if it has an account


def normalise_email(email: object) -> str:
    if not isinstance(email, str) or len(email) > 254 or not _EMAIL_RE.match(email.strip()):
        raise InvalidEmail()
    return email.strip().lower()


def check_password(password: object, email: str = "") -> str:
    minimum = current_app.config["IDP_PASSWORD_MIN_LENGTH"]
    if not isinstance(password, str) or len(password) < minimum:
        raise WeakPassword(f"Use at least {minimum} characters.")
    if len(password) > 1024:
        raise WeakPassword("Use at most 1024 characters.")
    if email and password.lower() == email.lower():
        raise WeakPassword("Your password must not be your email address.")
    return password


def by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def awaiting_verification(email: str) -> User | None:
    """The account at ``email`` if it still has to prove its address, else None."""
    user = by_email(email)
    return user if user and not user.email_verified and not user.disabled else None


def by_sub(sub: str) -> User | None:
    return db.session.scalar(select(User).where(User.sub == sub))


def get(user_id: int) -> User | None:
    return db.session.get(User, user_id)


def create(
    email: str,
    password: str,
    display_name: str = "",
    *,
    verified: bool = False,
    admin: bool = False,
) -> User:
    """Create an account; raises :class:`EmailTaken` (callers decide whether to say so)."""
    email = normalise_email(email)
    check_password(password, email)
    now = utcnow()
    user = User(
        sub=secrets.token_urlsafe(16),
        email=email,
        email_verified=verified,
        password_hash=passwords.hash_password(password),
        display_name=(display_name or "").strip()[:100],
        user_type=ADMIN if admin else CUSTOMER,
        disabled=False,
        created_at=now,
        password_changed_at=now,
        updated_at=now,
    )
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise EmailTaken() from None
    return user


def sign_up(email: str, password: str, display_name: str = "") -> User | None:
    """Hosted sign-up.  A taken address gets a mail to its owner instead of a code, and
    the caller must answer exactly as for a new account, so sign-up cannot be used to
    discover accounts.

    An address whose account never proved it is not taken: that account holds nothing
    and cannot be signed into, so this sign-up replaces its password and name, ends its
    sessions and mails a fresh code (earlier codes die).  Whoever signed up first with
    someone else's address (account pre-hijacking) is left with nothing."""
    email = normalise_email(email)
    check_password(password, email)
    try:
        user = create(email, password, display_name)
        replaced = {}
    except EmailTaken:
        user = awaiting_verification(email)
        if user is None:
            passwords.burn(password)
            mail.send(
                email,
                "Someone tried to sign up with your address",
                "Somebody (maybe you) tried to create an account with this address, "
                "which already has one. Sign in instead, or reset your password if you "
                "forgot it. If it was not you, ignore this message.",
            )
            outbox.commit()
            return None
        _replace_unverified(user, password, display_name)
        replaced = {"replaced": "unverified"}
    audit.record(audit.SIGNUP, user.id, **replaced)
    send_verification_code(user)
    return user


def _replace_unverified(user: User, password: str, display_name: str) -> None:
    _set_password(user, password)
    user.display_name = (display_name or "").strip()[:100]
    user.updated_at = utcnow()
    db.session.commit()
    sessions.end_all(user.id)


def authenticate(email: object, password: object) -> User:
    """Return the user for valid credentials or raise :class:`InvalidCredentials`."""
    try:
        email = normalise_email(email)
    except InvalidEmail:
        email = ""
    user = by_email(email) if email else None
    if not isinstance(password, str) or len(password) > 1024:
        password = ""
    if user is None:
        passwords.burn(password)
        audit.record(audit.LOGIN_FAILED, None, reason="unknown_account")
        raise InvalidCredentials()
    if not passwords.verify(user.password_hash, password) or user.disabled:
        audit.record(
            audit.LOGIN_FAILED, user.id, reason="disabled" if user.disabled else "bad_password"
        )
        raise InvalidCredentials()
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = utcnow()
    db.session.commit()
    audit.record(audit.LOGIN_OK, user.id)
    return user


# -- email verification ------------------------------------------------------------------
def _digest(secret: str) -> str:
    """Keyed hash: a 6-digit code must not be brute-forced offline from a database dump."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def send_verification_code(user: User) -> None:
    """Mail a fresh code; earlier codes stop working."""
    now = utcnow()
    db.session.execute(
        update(EmailVerification)
        .where(EmailVerification.user_id == user.id, EmailVerification.consumed_at.is_(None))
        .values(consumed_at=now)
    )
    code = f"{secrets.randbelow(1_000_000):06d}"
    ttl = current_app.config["IDP_EMAIL_CODE_TTL"]
    db.session.add(
        EmailVerification(
            user_id=user.id,
            code_hash=_digest(code),
            attempts=0,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl),
        )
    )
    mail.send(
        user.email,
        f"Your verification code: {code}",
        f"Your verification code is {code}. It expires in {ttl // 60} minutes.",
    )
    outbox.commit()


def verify_email(user: User, code: object) -> None:
    """Check the latest code, counting attempts; raises :class:`InvalidCode`."""
    now = utcnow()
    pending = db.session.scalar(
        select(EmailVerification)
        .where(EmailVerification.user_id == user.id, EmailVerification.consumed_at.is_(None))
        .order_by(EmailVerification.id.desc())
        .with_for_update()
    )
    maximum = current_app.config["IDP_EMAIL_CODE_MAX_ATTEMPTS"]
    if pending is None or pending.expires_at <= now or pending.attempts >= maximum:
        db.session.rollback()
        raise InvalidCode()
    pending.attempts += 1
    if not isinstance(code, str) or not hmac.compare_digest(
        pending.code_hash, _digest(code.strip())
    ):
        db.session.commit()
        # One message for every refusal: a distinct "too many attempts" would tell a
        # new sign-up from a taken address (which has no code to run out of).
        raise InvalidCode()
    pending.consumed_at = now
    user.email_verified = True
    user.updated_at = now
    db.session.commit()
    audit.record(audit.EMAIL_VERIFIED, user.id)


# -- password reset -----------------------------------------------------------------------
def request_reset(email: object, link_for) -> None:
    """Queue a reset request for any well-formed address: the same row, the same work,
    whether or not it has an account (so neither the answer nor its timing tells).  The
    outbox worker looks the address up and mails the link only if there is an account
    (:func:`deliver_reset`)."""
    try:
        email = normalise_email(email)
    except InvalidEmail:
        return
    # The token and its link are made here: only a request knows how to build the URL.
    token = secrets.token_urlsafe(32)
    outbox.enqueue(
        RESET_KIND,
        email,
        {
            "token_hash": hashlib.sha256(token.encode()).hexdigest(),
            "link": link_for(token),
            "requested_at": utcnow().isoformat(),
        },
    )
    outbox.commit()


def deliver_reset(message: outbox.OutboxMessage) -> None:
    """Outbox handler of :data:`RESET_KIND`: store the link and queue its mail when the
    address has an enabled account; nothing otherwise.  Idempotent (a retried message
    finds its link stored), and it commits with the message's "sent" mark."""
    user = by_email(message.recipient)
    token_hash = message.payload["token_hash"]
    if user is None or user.disabled:
        return
    if db.session.scalar(select(PasswordReset.id).where(PasswordReset.token_hash == token_hash)):
        return
    ttl = current_app.config["IDP_RESET_TTL"]
    requested = datetime.fromisoformat(message.payload["requested_at"])
    db.session.add(
        PasswordReset(
            token_hash=token_hash,
            user_id=user.id,
            created_at=requested,
            expires_at=requested + timedelta(seconds=ttl),
        )
    )
    audit.record(audit.PASSWORD_RESET_REQUESTED, user.id, commit=False)
    mail.send(
        user.email,
        "Reset your password",
        f"Open this link to choose a new password (valid {ttl // 60} minutes, once):\n\n"
        f"{message.payload['link']}\n\nIf you did not ask for this, ignore this message.",
    )


def reset_target(token: object) -> PasswordReset:
    if not isinstance(token, str) or len(token) > 128:
        raise InvalidResetToken()
    reset = db.session.scalar(
        select(PasswordReset).where(
            PasswordReset.token_hash == hashlib.sha256(token.encode()).hexdigest()
        )
    )
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        raise InvalidResetToken()
    return reset


def reset_password(token: object, new_password: object) -> User:
    """Use a reset link once: set the password (which also proves the address)."""
    reset = reset_target(token)
    user = get(reset.user_id)
    check_password(new_password, user.email)
    now = utcnow()
    claimed = db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        raise InvalidResetToken()
    # Links mailed earlier die with this one: they must not reset the new password.
    db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    _set_password(user, new_password)
    if not user.email_verified:  # the link proved the address: a claim changes
        user.email_verified, user.updated_at = True, now
    db.session.commit()
    audit.record(audit.PASSWORD_CHANGED, user.id, via="reset")
    return user


def change_password(user: User, current: object, new_password: object) -> None:
    if not isinstance(current, str) or not passwords.verify(user.password_hash, current):
        raise InvalidCredentials("Your current password is incorrect.")
    check_password(new_password, user.email)
    _set_password(user, new_password)
    db.session.commit()
    audit.record(audit.PASSWORD_CHANGED, user.id, via="account")


def _set_password(user: User, password: str) -> None:
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = utcnow()


def update_profile(user: User, display_name: object) -> None:
    if not isinstance(display_name, str) or len(display_name.strip()) > 100:
        raise InvalidName()
    user.display_name = display_name.strip()
    user.updated_at = utcnow()
    db.session.commit()


# -- operators ----------------------------------------------------------------------------
def list_users(limit: int = 100) -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.id).limit(limit)))


def set_disabled(email: str, disabled: bool) -> User:
    user = by_email(normalise_email(email))
    if user is None:
        from idp.core.errors import NotFound

        raise NotFound("No account has that email address.")
    user.disabled = disabled
    db.session.commit()
    return user


def to_dict(user: User) -> dict:
    return {
        "sub": user.sub,
        "email": user.email,
        "email_verified": user.email_verified,
        "display_name": user.display_name,
        "user_type": user.user_type,
        "disabled": user.disabled,
        "created_at": user.created_at.isoformat(),
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
    }
