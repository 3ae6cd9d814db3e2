"""Mailed verification codes: sending (with a resend cooldown), checking, and the three
ways a code fails (wrong, expired, too many tries), each with its own message.

A browser that signed up with a taken address has no code to check (its owner got a
mail instead).  Telling "expired" or "too many tries" apart would then tell a new
sign-up from a taken address, so such a browser runs the same clock and counter on a
*stand-in* kept in its own session (:class:`StandIn`): its answers, messages and waits
are those of a real code sent at the same moment."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections.abc import MutableMapping
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from idp.audit import services as audit
from idp.core import mail, outbox
from idp.core.db_types import utcnow
from idp.core.extensions import db
from idp.core.i18n import _

from .errors import CodeAttemptsExhausted, ExpiredCode, WrongCode
from .models import EmailVerification, User

# Seconds between two mailed codes for one account: a double click, or an impatient
# second click, must not send two mails (and two codes, the first of which dies).
RESEND_COOLDOWN_SECONDS = 30


def _digest(secret: str) -> str:
    """Keyed hash: a 6-digit code must not be brute-forced offline from a database dump."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def _latest(user: User, lock: bool = False) -> EmailVerification | None:
    query = (
        select(EmailVerification)
        .where(EmailVerification.user_id == user.id, EmailVerification.consumed_at.is_(None))
        .order_by(EmailVerification.id.desc())
    )
    return db.session.scalar(query.with_for_update() if lock else query)


def send(user: User) -> None:
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
        _("Your verification code: %(code)s", code=code),
        _(
            "Your verification code is %(code)s. It expires in %(minutes)s minutes.",
            code=code,
            minutes=ttl // 60,
        ),
    )
    outbox.commit()


def resend_wait(user: User) -> int:
    """Seconds before another code may be mailed to ``user`` (0: now)."""
    latest = _latest(user)
    if latest is None:
        return 0
    return _left(latest.created_at.timestamp() + RESEND_COOLDOWN_SECONDS)


def resend(user: User) -> int:
    """Mail a new code unless one went out within the cooldown; returns the seconds
    before the next may be asked for (the cooldown when this one was mailed)."""
    wait = resend_wait(user)
    if wait:
        return wait
    send(user)
    return RESEND_COOLDOWN_SECONDS


def spend_latest(user: User, entered_digest: str) -> EmailVerification:
    """The user's latest code, if ``entered_digest`` (the entered code, hashed as its
    purpose hashes it) matches: the row is locked, one attempt counted, and it is marked
    consumed (the caller commits).  Raises ExpiredCode, CodeAttemptsExhausted or
    WrongCode (its attempt committed)."""
    now = utcnow()
    pending = _latest(user, lock=True)
    if pending is None or pending.expires_at <= now:
        db.session.rollback()
        raise ExpiredCode()
    if pending.attempts >= current_app.config["IDP_EMAIL_CODE_MAX_ATTEMPTS"]:
        db.session.rollback()
        raise CodeAttemptsExhausted()
    pending.attempts += 1
    if not hmac.compare_digest(pending.code_hash, entered_digest):
        db.session.commit()
        raise WrongCode()
    pending.consumed_at = now
    return pending


def verify(user: User, code: object) -> None:
    """Check the latest code, counting attempts; raises a subclass of InvalidCode."""
    now = utcnow()
    spend_latest(user, _digest(code.strip()) if isinstance(code, str) else "")
    user.email_verified = True
    user.updated_at = now
    audit.record(audit.EMAIL_VERIFIED, user.id, commit=False)
    db.session.commit()


def _left(deadline: float) -> int:
    return max(0, math.ceil(deadline - time.time()))


class StandIn:
    """The code a browser that signed up with a taken address pretends to hold: sent
    when the sign-up was, it expires, runs out of tries and cools down as a real one
    does, and never verifies.  Its state lives in ``store`` (the browser's session)."""

    _KEY = "code_stand_in"

    def __init__(self, store: MutableMapping) -> None:
        self.store = store

    def start(self) -> None:
        """A code 'sent' now."""
        self.store[self._KEY] = {"sent": time.time(), "tries": 0}

    def _state(self) -> dict:
        return dict(self.store.get(self._KEY) or {"sent": 0.0, "tries": 0})

    def resend_wait(self) -> int:
        return _left(self._state()["sent"] + RESEND_COOLDOWN_SECONDS)

    def resend(self) -> int:
        wait = self.resend_wait()
        if wait:
            return wait
        self.start()
        return RESEND_COOLDOWN_SECONDS

    def verify(self, code: object) -> None:
        """Refuses as :func:`verify` would refuse a wrong code."""
        state = self._state()
        if state["sent"] + current_app.config["IDP_EMAIL_CODE_TTL"] <= time.time():
            raise ExpiredCode()
        if state["tries"] >= current_app.config["IDP_EMAIL_CODE_MAX_ATTEMPTS"]:
            raise CodeAttemptsExhausted()
        state["tries"] += 1
        self.store[self._KEY] = state
        raise WrongCode()


class AccountCode:
    """The code of a real account, with the interface of :class:`StandIn`."""

    def __init__(self, user: User) -> None:
        self.user = user

    def resend_wait(self) -> int:
        return resend_wait(self.user)

    def resend(self) -> int:
        return resend(self.user)

    def verify(self, code: object) -> None:
        verify(self.user, code)


def of(user: User | None, store: MutableMapping) -> AccountCode | StandIn:
    """The code a browser checks: its account's, or the stand-in when it has none."""
    return AccountCode(user) if user is not None else StandIn(store)
