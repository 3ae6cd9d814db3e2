"""Ending all of a user's access at once: every SSO session of this package, and what a
higher package registered (``idp.oauth2``: the refresh tokens, so no app keeps offline
access).  Password change and reset, "sign out everywhere" and disabling an account all
go through :func:`end_all_access`."""

from __future__ import annotations

from flask import current_app

from . import sessions
from .models import CrossAppSession

_ENDERS = "idp_access_enders"
# The reason given when the account itself goes (idp.users.deletion): enders may then
# forget what outlives a sign-out (an app's consent).
ACCOUNT_DELETED = "account_deleted"


def register_access_ender(app, ender) -> None:
    """``ender(user_id, reason)`` ends one kind of access held outside this package."""
    app.extensions.setdefault(_ENDERS, []).append(ender)


def end_all_access(user_id: int, reason: str, keep: CrossAppSession | None = None) -> None:
    """Sign the user out of every browser but ``keep``'s, then end what the registered
    enders hold (``reason`` says why, for the record)."""
    sessions.end_all(user_id, keep=keep)
    for ender in current_app.extensions.get(_ENDERS, ()):
        ender(user_id, reason)
