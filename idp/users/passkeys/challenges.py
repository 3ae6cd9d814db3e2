"""The server-side state of a ceremony: its challenge, for one purpose and account,
bound to one browser, short-lived and used at most once.

The browser holds only a random handle, in a cookie of its own (HttpOnly, SameSite
Strict, sent only to ``/passkeys/``); the database holds its hash and the challenge.
Keeping it in the signed session would not do: a copy of an old session cookie would
bring an old challenge back (this row is gone once used), and the sign-in page asks for
its options as it opens, so that answer would race the password form's for the one
session cookie (the last one written wins, losing a pending second step)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, g, request
from sqlalchemy import delete, select

from idp.core.db_types import utcnow
from idp.core.extensions import db

from .errors import ChallengeExpired
from .models import PasskeyChallenge

# Seconds a ceremony may take: WebAuthn's recommended timeout range is 5 to 10 minutes
# for user verification; the browser is told the same (``timeout``).
TTL_SECONDS = 300
REGISTER, SIGN_IN, SECOND_STEP = "register", "sign_in", "second_step"
COOKIE = "idp_passkey_ceremony"
COOKIE_PATH = "/passkeys/"
_G = "passkey_ceremony"  # the handle to give the browser ("": forget it)


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
    setattr(g, _G, handle)
    return challenge


def _held() -> str | None:
    handle = request.cookies.get(COOKIE)
    return handle if handle and len(handle) <= 64 else None


def _drop_pending() -> None:
    handle = _held()
    if handle:
        db.session.execute(
            delete(PasskeyChallenge).where(PasskeyChallenge.handle_hash == _hash(handle))
        )


def consume(purpose: str, user_id: int | None = None) -> bytes:
    """The challenge this browser was given for ``purpose`` (and ``user_id``), spent:
    whatever the answer turns out to be, it cannot be presented again."""
    handle = _held()
    setattr(g, _G, "")  # whatever happens next, this handle is spent
    if handle is None:
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


def remember(response):
    """after_request of the ceremonies' endpoints: the new handle's cookie, or the spent
    one's removal."""
    handle = g.pop(_G, None)
    if handle:
        secure = current_app.config["IDP_ISSUER"].startswith("https:")
        response.set_cookie(
            COOKIE, handle, max_age=TTL_SECONDS, path=COOKIE_PATH,
            httponly=True, samesite="Strict", secure=secure,
        )  # fmt: skip
    elif handle == "":
        response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response
