"""Operator services on one account: find it by address, show it, mark it verified.

The CLI (``flask users show|verify``) calls these; the public flows never do, so unlike
them these may say that an address has no account.
"""

from __future__ import annotations

from sqlalchemy import func, select

from idp.audit import services as audit
from idp.core.db_types import utcnow
from idp.core.errors import NotFound
from idp.core.extensions import db

from .accounts import by_email, normalise_email
from .models import CrossAppSession, User


def find(email: str) -> User:
    """The account at ``email`` (any spelling of it), or :class:`NotFound`."""
    user = by_email(normalise_email(email))
    if user is None:
        raise NotFound("No account has that email address.")
    return user


def active_sessions(user: User) -> int:
    """How many browsers are signed in to the account now."""
    now = utcnow()
    query = select(func.count(CrossAppSession.id)).where(
        CrossAppSession.user_id == user.id,
        CrossAppSession.revoked_at.is_(None),
        CrossAppSession.expires_at > now,
    )
    return db.session.scalar(query) or 0


def mark_verified(user: User, actor: str) -> bool:
    """Mark the address as proven (an operator checked it another way).  Returns whether
    anything changed; a change is audited with who made it."""
    if user.email_verified:
        return False
    user.email_verified = True
    user.updated_at = utcnow()  # email_verified is a profile claim (OIDC updated_at)
    audit.record(audit.EMAIL_VERIFIED, user.id, commit=False, via="cli", actor=actor)
    db.session.commit()
    return True
