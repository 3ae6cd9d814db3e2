"""Accounts: sign-up, sign-in, email verification, profile, operators.

Every query on the user tables lives in this package's services (``accounts.py`` the
basics, ``resets.py`` password resets); this module is their public face.  Public flows
never say whether an address has an account: sign-up and reset answer the same either
way, and a sign-in with an unknown address spends as long as one with a wrong password.
"""

from __future__ import annotations

# ``secrets`` stays importable from here: tests fix the mailed code with
# ``monkeypatch.setattr(services.secrets, "randbelow", ...)`` (codes.py draws it).
import secrets  # noqa: F401

from sqlalchemy import select

from idp.audit import services as audit
from idp.core import mail, outbox
from idp.core.db_types import utcnow
from idp.core.errors import NotFound
from idp.core.extensions import db
from idp.core.i18n import _

from . import codes, passwords, sessions
from .accounts import (  # noqa: F401  (the package's public services)
    awaiting_verification,
    by_email,
    by_sub,
    check_password,
    create,
    get,
    normalise_email,
    profile_changed,
    set_password,
)
from .errors import EmailTaken, InvalidCredentials, InvalidEmail, InvalidName
from .models import User
from .resets import (  # noqa: F401  (the package's public services)
    RESET_KIND,
    deliver_reset,
    request_reset,
    reset_password,
    reset_target,
)


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
            _tell_owner(email, password)
            return None
        _replace_unverified(user, password, display_name)
        replaced = {"replaced": "unverified"}
    # The event commits with the code it mails (send_verification_code's commit).
    audit.record(audit.SIGNUP, user.id, commit=False, **replaced)
    send_verification_code(user)
    return user


def _tell_owner(email: str, password: str) -> None:
    """A sign-up with a taken address: as slow as a real one, and its owner is told."""
    passwords.burn(password)
    mail.send(
        email,
        _("Someone tried to sign up with your address"),
        _(
            "Somebody (maybe you) tried to create an account with this address, "
            "which already has one. Sign in instead, or reset your password if you "
            "forgot it. If it was not you, ignore this message."
        ),
    )
    outbox.commit()


def _replace_unverified(user: User, password: str, display_name: str) -> None:
    set_password(user, password)
    user.display_name = (display_name or "").strip()[:100]
    user.updated_at = utcnow()
    db.session.commit()
    sessions.end_all(user.id)


def authenticate(email: object, password: object) -> User:
    """Return the user for valid credentials or raise :class:`InvalidCredentials`.

    For a verified address a success is left uncommitted (the sign-in, a rehash, its
    audit record): :func:`idp.users.sessions.start` commits it with the session it
    opens, one transaction.  An unverified address gets no session yet: committed here."""
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
    audit.record(audit.LOGIN_OK, user.id, commit=False)  # one transaction with the sign-in
    if not user.email_verified:
        db.session.commit()
    return user


# -- email verification (``codes``) -------------------------------------------------------
send_verification_code = codes.send
verify_email = codes.verify
_digest = codes._digest  # tests/test_logs.py looks for the code's digest in the logs


def change_password(user: User, current: object, new_password: object) -> None:
    """Replace the password, given the current one (:class:`InvalidCredentials` else)."""
    if not isinstance(current, str) or not passwords.verify(user.password_hash, current):
        raise InvalidCredentials("Your current password is incorrect.")
    check_password(new_password, user.email)
    set_password(user, new_password)
    audit.record(audit.PASSWORD_CHANGED, user.id, commit=False, via="account")
    db.session.commit()


def update_profile(user: User, display_name: object) -> None:
    """Set the display name (at most 100 characters)."""
    if not isinstance(display_name, str) or len(display_name.strip()) > 100:
        raise InvalidName()
    changed = user.display_name != display_name.strip()
    user.display_name = display_name.strip()
    user.updated_at = utcnow()
    if changed:  # the event carries the new name: written after it is set
        profile_changed(user, "name")
    db.session.commit()


# -- operators ----------------------------------------------------------------------------
def list_users(limit: int = 100) -> list[User]:
    """The first ``limit`` accounts, oldest first."""
    return list(db.session.scalars(select(User).order_by(User.id).limit(limit)))


def set_disabled(email: str, disabled: bool) -> User:
    """Disable or re-enable the account at ``email`` (ending its access is the caller's:
    ``idp.users.access.end_all_access``)."""
    user = by_email(normalise_email(email))
    if user is None:
        raise NotFound("No account has that email address.")
    user.disabled = disabled
    db.session.commit()
    return user


def to_dict(user: User) -> dict:
    """The operator's view of an account (never the password hash)."""
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
