"""Accounts at rest: address and password rules, lookups, creation, the password column.

The lowest layer of the users package: sign-up, sign-in and resets build on it.
"""

from __future__ import annotations

import re
import secrets

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idp.core import events_hook
from idp.core.db_types import utcnow
from idp.core.extensions import db

from . import passwords
from .errors import EmailTaken, InvalidEmail, WeakPassword
from .models import ADMIN, CUSTOMER, User

# No separators or quotes: a comma or angle bracket in the To header adds recipients.
_ADDRESS_CHAR = r"[^@\s,;:<>()\[\]\\\"]"
_EMAIL_RE = re.compile(rf"^{_ADDRESS_CHAR}{{1,64}}@{_ADDRESS_CHAR}+\.{_ADDRESS_CHAR}+$")


def normalise_email(email: object) -> str:
    """The address as stored (trimmed, lower case), or :class:`InvalidEmail`."""
    if not isinstance(email, str) or len(email) > 254 or not _EMAIL_RE.match(email.strip()):
        raise InvalidEmail()
    return email.strip().lower()


def check_password(password: object, email: str = "") -> str:
    """``password`` if the rules accept it for the account at ``email``, else
    :class:`WeakPassword` naming the rule it breaks."""
    minimum = current_app.config["IDP_PASSWORD_MIN_LENGTH"]
    if not isinstance(password, str) or len(password) < minimum:
        raise WeakPassword(f"Use at least {minimum} characters.")
    if len(password) > 1024:
        raise WeakPassword("Use at most 1024 characters.")
    if email and password.lower() == email.lower():
        raise WeakPassword("Your password must not be your email address.")
    return password


def by_email(email: str) -> User | None:
    """The account at a normalised address."""
    return db.session.scalar(select(User).where(User.email == email))


def awaiting_verification(email: str) -> User | None:
    """The account at ``email`` if it still has to prove its address, else None."""
    user = by_email(email)
    return user if user and not user.email_verified and not user.disabled else None


def by_sub(sub: str) -> User | None:
    """The account whose OIDC subject identifier is ``sub``."""
    return db.session.scalar(select(User).where(User.sub == sub))


def get(user_id: int) -> User | None:
    """The account with this primary key."""
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
    user = _new_user(email, password, display_name, verified, admin)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise EmailTaken() from None
    return user


def _new_user(email: str, password: str, display_name: str, verified: bool, admin: bool) -> User:
    now = utcnow()
    return User(
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


def set_password(user: User, password: str) -> None:
    """Store a new password hash (the caller commits it with the rest of its change)."""
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = utcnow()


def profile_changed(user: User, *fields: str) -> None:
    """Tell the apps the user granted which profile claims changed (``user.updated``,
    written in the caller's transaction; each app hears only of the claims its scopes
    show: ``name``, ``email``, ``email_verified``)."""
    if fields:
        events_hook.emit("user.updated", user.id, {"changed": list(fields)})
