"""Security mails to the account's owner: a sign-in from a new device, a second factor
added or removed, a recovery code used.  Each is queued in the outbox in the transaction
of what it reports (the caller commits with ``outbox.commit``).

A device is a browser holding our long-lived device cookie (a random id; the sessions
keep its SHA-256).  A sign-in from a browser none of the account's sessions came from is
a new device, unless the account has no session at all yet (its first sign-in, just
after sign-up, would be noise)."""

from __future__ import annotations

import hashlib
import secrets

from flask import current_app, g, has_request_context, request
from sqlalchemy import select

from idp.core import mail
from idp.core.extensions import db
from idp.core.i18n import _

from .models import CrossAppSession, User

_NEW_DEVICE = "idp_new_device_id"
_DEVICE_ID_LENGTH = 43  # token_urlsafe(32)


def _hash(device_id: str) -> str:
    return hashlib.sha256(device_id.encode()).hexdigest()


def device_of_this_browser(user: User) -> str:
    """The hash of this browser's device id (a new id when it has none: set on the
    response by :func:`remember_device`); mails the owner when the device is new to the
    account.  Called by ``sessions.start`` before it commits."""
    device_id = request.cookies.get(current_app.config["IDP_DEVICE_COOKIE"], "")
    if len(device_id) != _DEVICE_ID_LENGTH:
        device_id = g.get(_NEW_DEVICE) or secrets.token_urlsafe(32)
        g.setdefault(_NEW_DEVICE, device_id)
    device = _hash(device_id)
    if _is_new(user.id, device):
        _mail_new_device(user)
    return device


def _is_new(user_id: int, device: str) -> bool:
    """Sessions were opened before, none of them from this device."""
    if not _any_session(user_id):
        return False
    same = select(CrossAppSession.id).where(
        CrossAppSession.user_id == user_id, CrossAppSession.device_hash == device
    )
    return db.session.scalar(same.limit(1)) is None


def _any_session(user_id: int) -> bool:
    found = select(CrossAppSession.id).where(CrossAppSession.user_id == user_id).limit(1)
    return db.session.scalar(found) is not None


def remember_device(response):
    """after_request: give a browser signed in without a device cookie its new one."""
    device_id = g.pop(_NEW_DEVICE, None)
    if device_id and g.get("idp_session"):
        cfg = current_app.config
        secure = cfg["IDP_ISSUER"].startswith("https:")
        response.set_cookie(
            cfg["IDP_DEVICE_COOKIE"], device_id, max_age=cfg["IDP_DEVICE_COOKIE_LIFETIME"],
            httponly=True, samesite="Lax", secure=secure, path="/",
        )  # fmt: skip
    return response


def _where() -> str:
    agent = (request.user_agent.string or "")[:120] or _("an unknown browser")
    return _("Browser: %(agent)s\nIP address: %(ip)s", agent=agent, ip=request.remote_addr or "?")


def _mail_new_device(user: User) -> None:
    mail.send(
        user.email,
        _("New sign-in to your account"),
        _(
            "Your account was just signed in to from a device it was not used on before."
            "\n\n%(where)s\n\nIf this was you, there is nothing to do. If not, change your "
            "password now and sign out everywhere from your account page.",
            where=_where(),
        ),
    )


def factor_added(user: User, label: str) -> None:
    """Queue the mail saying a second factor (``label``) was added."""
    mail.send(
        user.email,
        _("Two-step verification: %(factor)s added", factor=label),
        _(
            "%(factor)s was added to your account's two-step verification.\n\n%(where)s"
            "\n\nIf this was not you, change your password now and remove it from your "
            "account page.",
            factor=label,
            where=_where() if has_request_context() else "",
        ),
    )


def factor_removed(user: User, label: str, by_operator: bool = False) -> None:
    """Queue the mail saying a second factor (``label``) was removed."""
    why = (
        _("Our support team reset it at your request.")
        if by_operator
        else _("It was removed from your account page.\n\n%(where)s", where=_where())
    )
    mail.send(
        user.email,
        _("Two-step verification: %(factor)s removed", factor=label),
        _(
            "%(factor)s no longer protects your account. %(why)s\n\nIf this was not "
            "you, change your password now.",
            factor=label,
            why=why,
        ),
    )


def recovery_code_used(user: User, left: int) -> None:
    """Queue the mail saying a recovery code was used to sign in."""
    mail.send(
        user.email,
        _("A recovery code was used to sign in"),
        _(
            "One of your recovery codes was just used to sign in to your account; "
            "%(left)s remain.\n\n%(where)s\n\nIf this was not you, change your password "
            "now and create new recovery codes from your account page.",
            left=left,
            where=_where(),
        ),
    )
