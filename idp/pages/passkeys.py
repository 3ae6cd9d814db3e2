"""Passkeys on the hosted pages: the account page's section (the list, adding one after
the password, removing one), signing in with one, and the JSON steps of the WebAuthn
ceremonies that ``static/passkeys.js`` calls (same origin, CSRF token in a header).

A ceremony is two POSTs: ``.../options`` (the challenge, kept server-side for this
browser, ``idp.users.passkeys.challenges``) and the authenticator's answer.  Failures
are JSON with a stable ``error`` (``idp.users.passkeys.errors``); the script shows
their message in the page."""

from __future__ import annotations

import time

from flask import flash, jsonify, request, session, url_for
from flask_wtf.csrf import CSRFError

from idp.core.errors import JSONBlueprint, NotFound
from idp.core.extensions import csrf
from idp.core.i18n import _, _l
from idp.ui.account_sections import register_account_section
from idp.users import deletion, factors, passwords, sessions
from idp.users.passkeys import challenges
from idp.users.passkeys import services as passkeys
from idp.users.passkeys.errors import (
    CeremonyForgery,
    MalformedCeremony,
    NotSignedIn,
    ReauthenticationRequired,
)
from idp.users.sessions import signed_in_only

from . import account, devices
from .routes import bp

api = JSONBlueprint("passkeys", __name__, url_prefix="/passkeys")
# The password proved for adding passkeys: (SSO session id, when), in the signed session.
_REAUTH = "passkey_reauth"
REAUTH_SECONDS = 300


def init_app(app) -> None:
    """The ceremonies' JSON endpoints, the account page's section, the second factor
    on the second step page, and the deletion step (the account's passkeys go)."""
    csrf.exempt(api)  # checked in _protect, so that a refusal is JSON too
    app.register_blueprint(api)
    register_account_section(app, section)
    deletion.register_deletion_step(app, lambda user: None, passkeys.remove_all)
    factors.register_second_factor(
        passkeys.KIND,
        _l("a passkey"),  # "Use a passkey instead" on the second step page
        passkeys.has_any,
        "pages.passkey_second_step",
        reset=passkeys.remove_all,
    )


api.after_request(challenges.remember)  # the ceremony's cookie


@api.before_request
def _protect():
    """CSRF for every step (the page's token in the X-CSRFToken header), refused in JSON."""
    try:
        csrf.protect()
    except CSRFError:
        raise CeremonyForgery() from None


def body() -> dict:
    """The step's JSON object."""
    sent = request.get_json(silent=True)
    if not isinstance(sent, dict):
        raise MalformedCeremony()
    return sent


def signed_in_user():
    """(SSO session, user) of this browser; a JSON refusal when signed out."""
    found = sessions.current()
    if found is None:
        raise NotSignedIn()
    return found


# -- the account page ---------------------------------------------------------------------
def section(user):
    """The account page's list of passkeys."""
    return "passkey_section.html", {"passkeys": passkeys.of(user)}


def _reauthenticated(found) -> bool:
    """Whether this browser proved the password, in this SSO session, moments ago."""
    proved = session.get(_REAUTH)
    if not isinstance(proved, list) or len(proved) != 2:
        return False
    session_id, at = proved
    return session_id == found[0].id and 0 <= time.time() - at < REAUTH_SECONDS


@bp.route("/account/passkeys/new", methods=["GET", "POST"])
@signed_in_only
def add_passkey(user):
    """Adding a passkey: the password first (re-authentication), then the page whose
    script runs the registration ceremony."""
    found = sessions.current()
    if request.method == "POST" and request.form.get("step") == "create":
        # The create step's form, sent without its script: the ceremony needs it.
        error = _("Passkeys need JavaScript. Turn it on for this site, or use another browser.")
        return _add_page(user, found, 400, error=error)
    if request.method == "POST":
        password = request.form.get("password")
        if not isinstance(password, str) or not passwords.verify(user.password_hash, password):
            errors = {"password": _("Your password is incorrect.")}
            return _add_page(user, found, 400, errors=errors)
        session[_REAUTH] = [found[0].id, time.time()]
        return account.done_at(_("Now create your passkey."), url_for("pages.add_passkey"))
    return _add_page(user, found)


def _add_page(user, found, status: int = 200, **context):
    return account.render(
        "passkey_add.html",
        status,
        user=user,
        ready=_reauthenticated(found),
        default_name=devices.label(request.user_agent.string or ""),
        **context,
    )


def _passkey_id(passkey_id: str) -> int:
    if not passkey_id.isdigit() or len(passkey_id) > 12:
        raise NotFound(_("No such passkey."))
    return int(passkey_id)


@bp.route("/account/passkeys/<passkey_id>/remove", methods=["GET", "POST"])
@signed_in_only
def remove_passkey(user, passkey_id: str):
    """Removing a passkey: asked first, the password confirms."""
    wanted = _passkey_id(passkey_id)
    chosen = next((p for p in passkeys.of(user) if p.id == wanted), None)
    if chosen is None:
        return account.done(_("That passkey was already removed."))
    if request.method == "GET":
        return account.render("passkey_remove.html", user=user, passkey=chosen)
    password = request.form.get("password")
    if not isinstance(password, str) or not passwords.verify(user.password_hash, password):
        errors = {"password": _("Your password is incorrect.")}
        return account.render("passkey_remove.html", 400, user=user, passkey=chosen, errors=errors)
    passkeys.remove(user, chosen.id)
    return account.done(_("The passkey \u201c%(name)s\u201d was removed.", name=chosen.name))


@api.post("/register/options")
def registration_options():
    """The options for ``navigator.credentials.create()``."""
    found = signed_in_user()
    if not _reauthenticated(found):
        raise ReauthenticationRequired()
    return json_answer(passkeys.registration_options(found[1]))


@api.post("/register")
def register():
    """The new credential: verified, kept, announced (mail, audit)."""
    found = signed_in_user()
    if not _reauthenticated(found):
        raise ReauthenticationRequired()
    sent = body()
    added = passkeys.register(found[1], sent.get("credential"), sent.get("name", ""))
    flash(_("The passkey \u201c%(name)s\u201d was added.", name=added.name))
    return json_answer({"redirect": url_for("pages.account")})


def json_answer(body: dict):
    """A ceremony step's answer (never cached)."""
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


# Sign-in with a passkey adds its routes to ``api`` and ``bp`` (imported last: it uses
# the helpers above).
from . import passkey_sign_in  # noqa: E402, F401
