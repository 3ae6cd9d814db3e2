"""Hosted sign-up, sign-in, verification, password reset and sign-out pages."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, session, url_for

from idp.ui.links import safe_return_to
from idp.ui.views import page
from idp.users import services as users
from idp.users import sessions
from idp.users.access import end_all_access
from idp.users.errors import AccountError, InvalidCode

bp = Blueprint(
    "pages",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/idp",
)


def _carry() -> dict:
    """Parameters every page passes along: where to go next and for which app."""
    return {
        "return_to": safe_return_to(request.values.get("return_to")),
        "client_id": request.values.get("client_id") or None,
    }


def signed_in(user, target: str):
    """Open the SSO session and set its cookie."""
    session.pop("pending_email", None)  # from now on this browser verifies as ``user``
    token = sessions.start(user)
    response = redirect(target)
    response.set_cookie(
        current_app.config["IDP_SESSION_COOKIE"], token, **sessions.cookie_options()
    )
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with email and password; an unverified address is sent to verify first."""
    carry = _carry()
    email = request.values.get("email") or request.args.get("login_hint") or ""
    if request.method == "GET":
        return page("login.html", email=email, **carry)
    try:
        user = users.authenticate(request.form.get("email"), request.form.get("password"))
    except AccountError as exc:
        return page("login.html", 401, error=exc.description, email=email, **carry)
    if not user.email_verified:
        # An address nobody has proved may be someone else's (pre-hijacking): no session
        # until the mailed code is entered, which is what signs this browser in.
        session["pending_email"] = user.email
        return redirect(url_for("pages.verify", **carry))
    return signed_in(user, carry["return_to"])


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    """Create an account; the mailed code, not this form, signs the browser in."""
    carry = _carry()
    if request.method == "GET":
        return page("signup.html", email=request.args.get("login_hint", ""), **carry)
    email, name = request.form.get("email", ""), request.form.get("display_name", "")
    try:
        users.sign_up(email, request.form.get("password"), name)
    except AccountError as exc:
        return page(
            "signup.html", 400, error=exc.description, email=email, display_name=name, **carry
        )
    # New account or taken address (whose owner got a mail instead), this browser gets
    # the same answer: no session until the mailed code is entered, only the address.
    session["pending_email"] = users.normalise_email(email)
    return redirect(url_for("pages.verify", **carry))


@bp.route("/verify", methods=["GET", "POST"])
def verify():
    """The mailed code, for the address this browser signed up with (which signs it in)
    or for its signed-in account."""
    carry = _carry()
    pending = session.get("pending_email")
    found = None if pending else sessions.current()
    if found and found[1].email_verified:
        return redirect(carry["return_to"])
    email = pending or (found[1].email if found else None)
    if email is None:
        return redirect(url_for("pages.login", **carry))
    if request.method == "GET":
        return page("verify.html", email=email, **carry)
    user = found[1] if found else users.awaiting_verification(pending)
    if request.form.get("action") == "resend":
        if user is not None:
            users.send_verification_code(user)
        return page("verify.html", email=email, notice="We sent a new code.", **carry)
    try:
        if user is None:
            raise InvalidCode()
        users.verify_email(user, request.form.get("code"))
    except AccountError as exc:
        return page("verify.html", 400, email=email, error=exc.description, **carry)
    # Proving the address ends every other session of the account: any opened before
    # the proof belonged to whoever knew a password, not to the address's owner.
    sessions.end_all(user.id, keep=found[0] if found else None)
    return redirect(carry["return_to"]) if found else signed_in(user, carry["return_to"])


@bp.route("/forgot", methods=["GET", "POST"])
def forgot():
    """Ask for a password-reset link (the same answer whether or not the address is known)."""
    carry = _carry()
    if request.method == "GET":
        return page("forgot.html", **carry)
    users.request_reset(request.form.get("email"), _reset_link)
    return page("forgot.html", sent=True, **carry)


def _reset_link(token: str) -> str:
    """Built on the issuer, never on the request's Host header (reset-link poisoning)."""
    return current_app.config["IDP_ISSUER"] + url_for("pages.reset", token=token)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    """Set a new password from a mailed link; every session and refresh token ends."""
    try:
        users.reset_target(token)
    except AccountError as exc:
        return page("reset.html", 400, invalid=exc.description)
    if request.method == "GET":
        return page("reset.html", token=token)
    try:
        user = users.reset_password(token, request.form.get("password"))
    except AccountError as exc:
        return page("reset.html", 400, token=token, error=exc.description)
    end_all_access(user.id, "password_reset")
    return page(
        "login.html",
        notice="Your password was changed. Sign in with it now.",
        email=user.email,
        return_to="/account",
        client_id=None,
    )
