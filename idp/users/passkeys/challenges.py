"""The server-side state of a ceremony: its challenge, for one purpose and account,
bound to one browser, short-lived and used at most once.

The browser's signed session holds only a random handle; the database holds its hash
and the challenge.  A cookie session alone would not do: a copy of an old cookie would
bring an old challenge back, where this row is gone once used."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import session
from sqlalchemy import delete, select

from idp.core.db_types import utcnow
from idp.core.extensions import db

from .errors import ChallengeExpired
from .models import PasskeyChallenge

# Seconds a ceremony may take: WebAuthn's recommended timeout range is 5 to 10 minutes
# for user verification; the browser is told the same (``timeout``).
TTL_SECONDS = 300
REGISTER, SIGN_IN, SECOND_STEP = "register", "sign_in", "second_step"
_SESSION_KEY = "passkey_ceremony"


def _hash(handle: str) -> str:
    return hashlib.sha256(handle.encode()).hexdigest()


def begin(purpose: str, user_id: int | None = None) -> bytes:
    """A fresh challenge for this browser (replacing any ceremony it had pending)."""
    now = utcnow()
    db.session.execute(delete(PasskeyChallenge).where(PasskeyChallenge.expires_at <= now))
    _drop_pending()
    handle = secrets.token_urlsafe(32)
    challenge = secrets.token_bytes(32)
    db.session.add(
        PasskeyChallenge(
            handle_hash=_hash(handle),
            purpose=purpose,
            user_id=user_id,
            challenge=challenge,
            expires_at=now + timedelta(seconds=TTL_SECONDS),
        )
    )
    db.session.commit()
    session[_SESSION_KEY] = handle
    return challenge


def _drop_pending() -> None:
    handle = session.pop(_SESSION_KEY, None)
    if isinstance(handle, str):
        db.session.execute(
            delete(PasskeyChallenge).where(PasskeyChallenge.handle_hash == _hash(handle))
        )


def consume(purpose: str, user_id: int | None = None) -> bytes:
    """The challenge this browser was given for ``purpose`` (and ``user_id``), spent:
    whatever the answer turns out to be, it cannot be presented again."""
    handle = session.pop(_SESSION_KEY, None)
    if not isinstance(handle, str):
        raise ChallengeExpired()
    row = db.session.scalar(
        select(PasskeyChallenge).where(PasskeyChallenge.handle_hash == _hash(handle))
    )
    if row is None:
        raise ChallengeExpired()
    fresh = row.expires_at > utcnow()
    matches = row.purpose == purpose and row.user_id == user_id
    challenge = row.challenge
    # Deleting is what spends it: of two requests racing with one handle, one deletes.
    spent = db.session.execute(delete(PasskeyChallenge).where(PasskeyChallenge.id == row.id))
    db.session.commit()
    if spent.rowcount != 1 or not fresh or not matches:
        raise ChallengeExpired()
    return challenge
