"""The IdP's own sign-in session (SSO): one per browser, shared by every partner app.

The cookie carries a random secret; the database holds its SHA-256, so a leaked
table cannot be replayed as cookies, and "sign out everywhere" is one UPDATE.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, url_for
from sqlalchemy import select, update

from idp.core.db_types import utcnow
from idp.core.extensions import db

from . import alerts
from .methods import acr_of, combined
from .models import CrossAppSession, User

_TOUCH_EVERY = timedelta(minutes=5)
# The hosted sign-in page, named by URL: this package imports no page.
SIGN_IN_ENDPOINT = "pages.login"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user: User, amr=("pwd",), acr: str | None = None, ends: int | None = None) -> str:
    """Open a session for ``user``, just authenticated by ``amr`` (RFC 8176 values; the
    level ``acr`` follows from them unless given); returns the cookie value.  ``ends``
    is the id of a session this one replaces (a step-up), ended in the same commit.

    A browser none of the account's sessions came from is mailed about (``alerts``)."""
    methods = combined(amr)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    lifetime = timedelta(seconds=current_app.config["IDP_SESSION_LIFETIME"])
    device = alerts.device_of_this_browser(user)
    session = CrossAppSession(
        token_hash=_hash(token),
        user_id=user.id,
        auth_time=now,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        user_agent=(request.user_agent.string or "")[:255],
        ip=request.remote_addr or "",
        amr=" ".join(methods),
        acr=acr or acr_of(methods),
        device_hash=device,
    )
    db.session.add(session)
    if ends is not None:
        db.session.execute(
            update(CrossAppSession)
            .where(CrossAppSession.id == ends, CrossAppSession.user_id == user.id)
            .values(revoked_at=now)
        )
    db.session.commit()
    g.idp_session = (session, user)
    return token


def set_cookie(response, token: str):
    """Give the browser its session cookie (and, after its first sign-in, the device
    cookie :mod:`~idp.users.alerts` recognises it by); returns ``response``."""
    response.set_cookie(current_app.config["IDP_SESSION_COOKIE"], token, **cookie_options())
    return alerts.remember_device(response)


def current() -> tuple[CrossAppSession, User] | None:
    """The live session of this request's browser and its user, or None."""
    if "idp_session" in g:
        return g.idp_session
    g.idp_session = _load(request.cookies.get(current_app.config["IDP_SESSION_COOKIE"]))
    return g.idp_session


def _load(token: str | None):
    if not token or len(token) > 128:
        return None
    row = db.session.execute(
        select(CrossAppSession, User)
        .join(User, User.id == CrossAppSession.user_id)
        .where(CrossAppSession.token_hash == _hash(token))
    ).first()
    if row is None:
        return None
    session, user = row
    now = utcnow()
    if session.revoked_at or session.expires_at <= now or user.disabled:
        return None
    if now - session.last_seen_at > _TOUCH_EVERY:
        session.last_seen_at = now
        db.session.commit()
    return session, user


def end_current() -> CrossAppSession | None:
    """End this browser's session (if any); returns it."""
    found = current()
    if found is None:
        return None
    found[0].revoked_at = utcnow()
    db.session.commit()
    g.idp_session = None
    return found[0]


def end_all(user_id: int, keep: CrossAppSession | None = None) -> None:
    """Sign out everywhere: every browser of this user (but ``keep``'s, when given)."""
    query = update(CrossAppSession).where(
        CrossAppSession.user_id == user_id, CrossAppSession.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(CrossAppSession.id != keep.id)
    db.session.execute(query.values(revoked_at=utcnow()))
    db.session.commit()
    if keep is None:
        g.idp_session = None


def cookie_options() -> dict:
    """HttpOnly, SameSite=Lax, and Secure except on a plain-http loopback dev issuer."""
    issuer = urlsplit(current_app.config["IDP_ISSUER"])
    return {
        "httponly": True,
        "samesite": "Lax",
        "secure": issuer.scheme == "https",
        "path": "/",
        "max_age": current_app.config["IDP_SESSION_LIFETIME"],
    }


def forget_cookie(response):
    """Tell the browser to drop the session cookie (after signing it out)."""
    response.delete_cookie(current_app.config["IDP_SESSION_COOKIE"], path="/")
    return response


def signed_in_only(view=None, *, back_after_post: str | None = "/account"):
    """The sign-in guard of every page that needs someone signed in: the view is called
    with the signed-in user first; anyone else is sent to the sign-in page, which comes
    back to this page, query included.  A form's target (POST) comes back to
    ``back_after_post`` instead, when given, as it may not answer GET."""

    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            found = current()
            if found is None:
                back = request.full_path.rstrip("?")
                if request.method != "GET" and back_after_post is not None:
                    back = back_after_post
                return redirect(url_for(SIGN_IN_ENDPOINT, return_to=back))
            return view(found[1], *args, **kwargs)

        return guarded

    return decorate(view) if view is not None else decorate


def active_for(user_id: int) -> list[CrossAppSession]:
    """The user's live sessions (signed-in browsers), the most recently seen first."""
    return list(
        db.session.scalars(
            select(CrossAppSession)
            .where(
                CrossAppSession.user_id == user_id,
                CrossAppSession.revoked_at.is_(None),
                CrossAppSession.expires_at > utcnow(),
            )
            .order_by(CrossAppSession.last_seen_at.desc(), CrossAppSession.id.desc())
        )
    )


def end_one(user_id: int, session_id: int) -> bool:
    """End one of the user's sessions (only theirs: the id comes from a form); whether
    there was such a live session."""
    ended = db.session.execute(
        update(CrossAppSession)
        .where(
            CrossAppSession.id == session_id,
            CrossAppSession.user_id == user_id,
            CrossAppSession.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    db.session.commit()
    found = g.get("idp_session")
    if found and found[0].id == session_id:
        g.idp_session = None
    return ended.rowcount == 1
