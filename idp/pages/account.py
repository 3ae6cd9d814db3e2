"""The account page: profile, password, connected apps, sign out (here or everywhere)."""

from __future__ import annotations

from flask import request

from idp.apps import services as app_services
from idp.apps.errors import AppNotFound
from idp.audit import services as audit
from idp.oauth2 import services as oauth_services
from idp.ui.views import frame_policy, page
from idp.users import services as users
from idp.users import sessions
from idp.users.access import end_all_access
from idp.users.errors import AccountError, InvalidCredentials
from idp.users.sessions import signed_in_only

from .routes import bp
from .views import SCOPE_TEXT


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
    # Never framed, whatever client_id the URL names: no partner may overlay these settings.
    response = page("account.html", status, user=user, connected=_connected(user), **context)
    return frame_policy(response, None)


@bp.get("/account")
@signed_in_only
def account(user):
    """The account page."""
    return _account(user)


@bp.post("/account/profile")
@signed_in_only
def update_profile(user):
    """Save the display name."""
    try:
        users.update_profile(user, request.form.get("display_name", ""))
    except AccountError as exc:
        return _account(user, 400, errors={"display_name": exc.description})
    return _account(user, notice="Your profile was saved.")


@bp.post("/account/password")
@signed_in_only
def change_password(user):
    """Change the password (the current one proves it is the owner)."""
    try:
        users.change_password(
            user, request.form.get("current_password"), request.form.get("new_password")
        )
    except AccountError as exc:
        # The current password is the one proof asked for; every other refusal is a rule
        # the new one breaks.
        name = "current_password" if isinstance(exc, InvalidCredentials) else "new_password"
        return _account(user, 400, errors={name: exc.description})
    # As after a reset: whoever knew the old password keeps nothing, but this browser
    # stays signed in (it just proved the password).
    end_all_access(user.id, "password_changed", keep=sessions.current()[0])
    return _account(user, notice="Your password was changed.")


@bp.post("/account/apps/<client_id>/revoke")
@signed_in_only
def revoke_app(user, client_id: str):
    """Withdraw an app's consent: it must ask again."""
    oauth_services.revoke_consent(user.id, client_id)
    return _account(user, notice="Access removed. The app must ask you again.")


@bp.post("/account/sign-out-everywhere")
@signed_in_only
def sign_out_everywhere(user):
    """End every session and refresh token of the account."""
    end_all_access(user.id, "signed_out_everywhere")
    audit.record(audit.LOGOUT_EVERYWHERE, user.id)
    return sessions.forget_cookie(page("signed_out.html", everywhere=True))


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """Confirmation page, then sign-out of this browser (a GET alone never signs out)."""
    found = sessions.current()
    if request.method == "GET":
        return page("logout.html", user=found[1] if found else None, client_id=_client_id())
    ended = sessions.end_current()
    if ended is not None:
        audit.record(audit.LOGOUT, ended.user_id)
    return sessions.forget_cookie(page("signed_out.html", client_id=_client_id()))


def _client_id() -> str | None:
    """The app a sign-out page was opened for (its name, its way back)."""
    return request.args.get("client_id") or None
