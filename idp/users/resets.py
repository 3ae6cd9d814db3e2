"""Password reset by mailed link: the request (queued whether or not the address has an
account), its delivery by the outbox, and the one use of the link."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from idp.audit import services as audit
from idp.core import mail, outbox
from idp.core.db_types import utcnow
from idp.core.extensions import db
from idp.core.i18n import _

from .accounts import by_email, check_password, get, normalise_email, set_password
from .errors import InvalidEmail, InvalidResetToken
from .models import PasswordReset, User

RESET_KIND = "password_reset"  # outbox kind: a /forgot request, mailed if it has an account


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
        _("Reset your password"),
        _(
            "Open this link to choose a new password (valid %(minutes)s minutes, once):\n\n"
            "%(link)s\n\nIf you did not ask for this, ignore this message.",
            minutes=ttl // 60,
            link=message.payload["link"],
        ),
    )


def reset_target(token: object) -> PasswordReset:
    """The unused, unexpired reset a link's token names, else :class:`InvalidResetToken`."""
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
    set_password(user, new_password)
    if not user.email_verified:  # the link proved the address: a claim changes
        user.email_verified, user.updated_at = True, now
    audit.record(audit.PASSWORD_CHANGED, user.id, commit=False, via="reset")
    db.session.commit()
    return user
