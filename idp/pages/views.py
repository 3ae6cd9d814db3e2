"""The pages the protocol endpoints show at their own URL (registered with
``idp.oauth2.interaction``): the consent form, the logout confirmation, signed out."""

from __future__ import annotations

from flask import request

from idp.core import scopes as scope_names
from idp.core.i18n import _l
from idp.ui import waits
from idp.ui.views import error_page, page

from .routes import LIMITED_FORMS

# What each scope means to a person, for the consent page.
SCOPE_TEXT = {
    "openid": _l("Sign you in with your account"),
    "profile": _l("See your name"),
    "email": _l("See your email address"),
    "offline_access": _l("Stay signed in when you are away (refresh tokens)"),
    "credits:read": _l("See your credit balance and history"),
    "credits:consume": _l("Spend your credits on its services"),
    "credits:purchase": _l("Start credit purchases for you"),
    "user:metadata": _l("Store its own settings in your account"),
    "admin": _l("Administer this identity provider"),
}


def consent_page(client, user, scope: str):
    """The consent form; its decision is posted back to this authorization request."""
    items = [(s, SCOPE_TEXT.get(s, s)) for s in scope_names.to_list(scope)]
    return page("consent.html", app=client, user=user, scopes=items, action=request.full_path)


def logout_page(client, user):
    """RP-initiated logout's confirmation, posted back to the same request."""
    return page("logout.html", app=client, user=user, action=request.full_path)


def signed_out_page(client):
    """After RP-initiated logout without a ``post_logout_redirect_uri``: the way back to
    the app, and to sign in to it again."""
    return page("signed_out.html", app=client)


def hosted_error_page(error: str, description: str | None, status: int = 400):
    """The error page; but a form a rate limit refused is shown again, filled in, with
    the wait (the same seconds as ``Retry-After``) instead of a dead end."""
    wait = waits.noted() if status == 429 else None
    form = LIMITED_FORMS.get(request.endpoint) if wait else None
    response = form() if form else None
    return response if response is not None else error_page(error, description, status)
