"""The hand-off from the protocol endpoints to the hosted pages (node-oidc-provider's
interactions): ``oauth2`` decides, the packages above it render.

The pages package registers, from its ``init_app``, one renderer per page an endpoint
shows at its own URL (the consent form, the logout confirmation, the signed-out page);
other packages register detours, hosted pages an authorization request visits before
its code is issued when it asks for them with ``next=NAME`` (the wallet's purchase
page).  This package imports none of them."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app

# The pages an endpoint shows: consent(client, user, scope), logout(client, user),
# signed_out(client).  Each renderer returns the response.
CONSENT = "consent"
LOGOUT = "logout"
SIGNED_OUT = "signed_out"

_KEY = "idp.oauth2.interaction"


def _registry(app) -> dict[str, dict[str, Callable]]:
    return app.extensions.setdefault(_KEY, {"pages": {}, "detours": {}})


def register_page(app, name: str, render: Callable) -> None:
    """Render the page ``name`` (one of the names above) for ``app``'s endpoints."""
    _registry(app)["pages"][name] = render


def register_detour(app, name: str, url: Callable[[str, str], str]) -> None:
    """``next=name`` sends the browser, after consent, to ``url(client_id, return_to)``;
    ``return_to`` resumes the authorization request without ``next``."""
    _registry(app)["detours"][name] = url


def show(name: str, **context):
    """The response of the page registered as ``name``."""
    return _registry(current_app)["pages"][name](**context)


def detour(name: str | None) -> Callable[[str, str], str] | None:
    """The detour registered as ``name``; None for an unknown one (it is ignored)."""
    return _registry(current_app)["detours"].get(name) if name else None
