"""The account page: profile, password, connected apps, sign out (here or everywhere)."""

from __future__ import annotations

import functools

from flask import current_app, redirect, request, url_for

from idp.apps import services as app_services
from idp.apps.errors import AppNotFound
from idp.audit import services as audit
from idp.oauth2 import services as oauth_services
from idp.users import services as users
from idp.users import sessions
from idp.users.errors import AccountError

from .routes import bp, safe_return_to
from .views import SCOPE_TEXT, page


def signed_in_only(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        found = sessions.current()
        if found is None:
            return redirect(url_for("pages.login", return_to=request.path))
        return view(found[1], *args, **kwargs)

    return wrapped


def _connected(user) -> list[dict]:
    apps = []
    for consent in oauth_services.consents(user.id):
        try:
            name = app_services.get(consent.client_id).name
        except AppNotFound:
            name = consent.client_id
        apps.append(
            {
                "client_id": consent.client_id,
                "name": name,
                "granted_at": consent.granted_at,
                "scopes": [SCOPE_TEXT.get(s, s) for s in consent.scopes],
            }
        )
    return apps


def _account(user, status=200, **context):
    return page("account.html", status, user=user, connected=_connected(user), **context)


@bp.get("/account")
@signed_in_only
def account(user):
    return _account(user)


@bp.post("/account/profile")
@signed_in_only
def update_profile(user):
    try:
        users.update_profile(user, request.form.get("display_name", ""))
    except AccountError as exc:
        return _account(user, 400, profile_error=exc.description)
    return _account(user, notice="Your profile was saved.")


@bp.post("/account/password")
@signed_in_only
def change_password(user):
    try:
        users.change_password(
            user, request.form.get("current_password"), request.form.get("new_password")
        )
    except AccountError as exc:
        return _account(user, 400, password_error=exc.description)
    return _account(user, notice="Your password was changed.")


@bp.post("/account/apps/<client_id>/revoke")
@signed_in_only
def revoke_app(user, client_id: str):
    oauth_services.revoke_consent(user.id, client_id)
    return _account(user, notice="Access removed. The app must ask you again.")


@bp.post("/account/sign-out-everywhere")
@signed_in_only
def sign_out_everywhere(user):
    sessions.end_all(user.id)
    oauth_services.revoke_refresh_tokens(user.id, reason="signed_out_everywhere")
    audit.record(audit.LOGOUT_EVERYWHERE, user.id)
    return _signed_out(page("signed_out.html", everywhere=True))


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """Confirmation page, then sign-out of this browser (a GET alone never signs out)."""
    found = sessions.current()
    if request.method == "GET":
        return page("logout.html", user=found[1] if found else None)
    ended = sessions.end_current()
    if ended is not None:
        audit.record(audit.LOGOUT, ended.user_id)
    return _signed_out(page("signed_out.html"))


def _signed_out(response):
    response.delete_cookie(current_app.config["IDP_SESSION_COOKIE"], path="/")
    return response


@bp.get("/purchase")
@signed_in_only
def purchase(user):
    """Landing of ``next=purchase``; the wallet issue fills it with packages and checkout."""
    return page(
        "purchase.html",
        user=user,
        return_to=safe_return_to(request.args.get("return_to"), "/account"),
    )
