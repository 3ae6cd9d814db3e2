"""The account page: profile, address, password, what registered sections add (the
wallet), signed-in devices, connected apps, sign out (here or everywhere), deletion.

Every action is a POST that answers with a redirect (302, which browsers follow with a
GET) to a page, so reloading never sends it again; its result is flashed and shown
once.  A refused form is shown again at once (400) with its errors inline.  Revoking an
app, signing out everywhere and deleting the account first ask on a page of their own
(GET shows, only the POST acts).
"""

from __future__ import annotations

from flask import flash, get_flashed_messages, redirect, request, url_for

from idp.apps import services as app_services
from idp.apps.errors import AppNotFound
from idp.audit import services as audit
from idp.core.errors import NotFound
from idp.oauth2 import services as oauth_services
from idp.ui.account_sections import render_account_sections
from idp.ui.views import frame_policy, page
from idp.users import services as users
from idp.users import sessions
from idp.users.access import end_all_access
from idp.users.errors import AccountError, InvalidCredentials
from idp.users.sessions import signed_in_only

from . import devices
from .routes import bp
from .views import SCOPE_TEXT


def _connected(user) -> list[dict]:
    apps = []
    for consent in oauth_services.consents(user.id):
        apps.append(
            {
                "client_id": consent.client_id,
                "name": _app_name(consent.client_id),
                "granted_at": consent.granted_at,
                "scopes": [SCOPE_TEXT.get(s, s) for s in consent.scopes],
            }
        )
    return apps


def _app_name(client_id: str) -> str:
    try:
        return app_services.get(client_id).name
    except AppNotFound:
        return client_id


def _devices(user) -> list[dict]:
    here = sessions.current()
    here_id = here[0].id if here else None
    return [
        {
            "id": s.id,
            "device": devices.label(s.user_agent),
            "ip": s.ip or "unknown",
            "last_seen": s.last_seen_at,
            "here": s.id == here_id,
            "factors": devices.methods(s.methods),
        }
        for s in sessions.active_for(user.id)
    ]


def notice() -> str | None:
    """The flashed result of the last action (shown once)."""
    shown = get_flashed_messages(category_filter=["message"])
    return " ".join(shown) if shown else None


def render(template: str, status: int = 200, **context):
    """An account page: never framed, whatever client_id the URL names (no partner may
    overlay these settings)."""
    context.setdefault("notice", notice())
    return frame_policy(page(template, status, app=None, **context), None)


def page_of(user, status=200, **context):
    """The account page itself (with a refused form's errors, when given)."""
    return render(
        "account.html",
        status,
        user=user,
        connected=_connected(user),
        devices=_devices(user),
        here_id=sessions.current()[0].id,
        sections=render_account_sections(user),
        **context,
    )


def done(message: str):
    """The answer to a successful POST: the account page, the message shown once."""
    return done_at(message, url_for("pages.account"))


def done_at(message: str, target: str):
    """A successful POST's answer: a redirect to ``target``, the message once."""
    flash(message)
    return redirect(target)


@bp.get("/account")
@signed_in_only
def account(user):
    """The account page."""
    return page_of(user)


@bp.post("/account/profile")
@signed_in_only
def update_profile(user):
    """Save the display name."""
    try:
        users.update_profile(user, request.form.get("display_name", ""))
    except AccountError as exc:
        return page_of(user, 400, errors={"display_name": exc.description})
    return done("Your profile was saved.")


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
        return page_of(user, 400, errors={name: exc.description})
    # As after a reset: whoever knew the old password keeps nothing, but this browser
    # stays signed in (it just proved the password).
    end_all_access(user.id, "password_changed", keep=sessions.current()[0])
    return done("Your password was changed.")


@bp.get("/account/apps/<client_id>/revoke")
@signed_in_only
def confirm_revoke(user, client_id: str):
    """Ask before withdrawing an app's access."""
    if client_id not in {c.client_id for c in oauth_services.consents(user.id)}:
        return redirect(url_for("pages.account"))
    return render(
        "account_confirm.html",
        heading=f"Remove {_app_name(client_id)}'s access?",
        message="It will no longer see your account, and its sign-ins end. "
        "It must ask you again the next time you use it.",
        action=url_for("pages.revoke_app", client_id=client_id),
        button="Remove access",
    )


@bp.post("/account/apps/<client_id>/revoke")
@signed_in_only
def revoke_app(user, client_id: str):
    """Withdraw an app's consent: it must ask again."""
    oauth_services.revoke_consent(user.id, client_id)
    return done("Access removed. The app must ask you again.")


@bp.get("/account/sign-out-everywhere")
@signed_in_only
def confirm_sign_out_everywhere(user):
    """Ask before ending every session."""
    return render(
        "account_confirm.html",
        heading="Sign out everywhere?",
        message="This signs you out on every device, this one included, and every app "
        "must ask you to sign in again.",
        action=url_for("pages.sign_out_everywhere"),
        button="Sign out everywhere",
    )


@bp.post("/account/sign-out-everywhere")
@signed_in_only
def sign_out_everywhere(user):
    """End every session and refresh token of the account."""
    end_all_access(user.id, "signed_out_everywhere")
    audit.record(audit.LOGOUT_EVERYWHERE, user.id)
    flash("everywhere", "signed_out")
    return sessions.forget_cookie(redirect(url_for("pages.signed_out")))


@bp.post("/account/sessions/<session_id>/end")
@signed_in_only
def end_session(user, session_id: str):
    """Sign out one device (this one too, when it is the one chosen)."""
    if not session_id.isdigit():
        raise NotFound("No such session.")
    here = sessions.current()[0].id == int(session_id)
    sessions.end_one(user.id, int(session_id))
    if here:
        audit.record(audit.LOGOUT, user.id)
        flash("here", "signed_out")
        return sessions.forget_cookie(redirect(url_for("pages.signed_out")))
    return done("That device is signed out.")


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """Confirmation page, then sign-out of this browser (a GET alone never signs out)."""
    found = sessions.current()
    if request.method == "GET":
        return page("logout.html", user=found[1] if found else None, client_id=_client_id())
    ended = sessions.end_current()
    if ended is not None:
        audit.record(audit.LOGOUT, ended.user_id)
    # Rendered, not redirected: the OAuth layer's logout and its tests share this page,
    # and sending it again signs out nobody (the account page's own "Sign out" ends its
    # session through end_session, which redirects).
    return sessions.forget_cookie(page("signed_out.html", client_id=_client_id()))


@bp.get("/signed-out")
def signed_out():
    """What a sign-out says, once; opened again, it only offers to sign in."""
    said = get_flashed_messages(category_filter=["signed_out"])
    if not said and sessions.current() is not None:
        return redirect(url_for("pages.account"))  # not signed out: nothing to say
    return page("signed_out.html", everywhere="everywhere" in said, said=bool(said))


def _client_id() -> str | None:
    """The app a sign-out page was opened for (its name, its way back)."""
    return request.values.get("client_id") or None


# The account's other pages register their routes on the same blueprint (imported last:
# they use the helpers above).
from . import account_delete, account_email, account_security  # noqa: E402, F401
