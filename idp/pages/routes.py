"""Hosted sign-up, sign-in, verification, password reset and the landing page.

Every form posts to its own page's URL with ``client_id``/``return_to`` in the query as
well as in the form, so a refused POST (an expired CSRF token, a rate limit) can offer
"Try again" as the GET of that same URL, still for the same app."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, session, url_for

from idp.core.extensions import db
from idp.ui import waits
from idp.ui.links import safe_return_to
from idp.ui.views import page
from idp.users import codes, factors, sessions
from idp.users import services as users
from idp.users.access import end_all_access
from idp.users.errors import AccountError, InvalidCode

bp = Blueprint(
    "pages",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/idp",
)
# The code a browser that signed up with a taken address pretends to hold (codes.StandIn)
_STAND_IN = "code_stand_in"


def _carry() -> dict:
    """Parameters every page passes along: where to go next and for which app."""
    return {
        "return_to": safe_return_to(request.values.get("return_to")),
        "client_id": request.values.get("client_id") or None,
    }


def signed_in(user, target: str):
    """Open the SSO session and set its cookie; an account with a second factor is sent
    to prove it first (idp.users.factors: nothing is signed in until then)."""
    session.pop("pending_email", None)  # from now on this browser verifies as ``user``
    session.pop(_STAND_IN, None)
    if factors.has_second_factor(user):
        db.session.commit()  # the password's success (audit, rehash) stands on its own
        factors.begin_second_step(user, [factors.PWD], target)
        return redirect(url_for("pages.second_factor", return_to=target, **_app()))
    token = sessions.start(user, amr=[factors.PWD])
    return sessions.set_cookie(redirect(target), token)


def _app() -> dict:
    client_id = request.values.get("client_id")
    return {"client_id": client_id} if client_id else {}


def _field_errors(exc: AccountError, default: str) -> dict:
    return {exc.field or default: exc.description}


@bp.get("/")
def home():
    """What this service is, and the ways in."""
    return page("home.html", signed_in=sessions.current() is not None)


# -- sign-in ------------------------------------------------------------------------------
def login_form(status: int = 200, **context):
    """The sign-in form, with what was typed (the password only when the answer is not
    about it: a rate limit)."""
    email = request.values.get("email") or request.args.get("login_hint") or ""
    return page("login.html", status, email=email, **_carry(), **context)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with email and password; an unverified address is sent to verify first."""
    carry = _carry()
    if request.method == "GET":
        return login_form()
    try:
        user = users.authenticate(request.form.get("email"), request.form.get("password"))
    except AccountError as exc:
        # Which of the two is wrong is not said (enumeration): both fields are marked.
        return login_form(401, errors={"password": exc.description}, linked_errors=_BOTH)
    if not user.email_verified:
        # An address nobody has proved may be someone else's (pre-hijacking): no session
        # until the mailed code is entered, which is what signs this browser in.
        session["pending_email"] = user.email
        session.pop(_STAND_IN, None)
        return redirect(url_for("pages.verify", **carry))
    return signed_in(user, carry["return_to"])


_BOTH = {"email": "password"}


# -- sign-up ------------------------------------------------------------------------------
def signup_form(status: int = 200, password: str = "", **context):
    email = request.values.get("email") or request.args.get("login_hint") or ""
    name = request.form.get("display_name", "")
    return page(
        "signup.html", status, email=email, display_name=name, password=password,
        **_carry(), **context,
    )  # fmt: skip


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    """Create an account; the mailed code, not this form, signs the browser in."""
    carry = _carry()
    if request.method == "GET":
        return signup_form()
    email, password = request.form.get("email", ""), request.form.get("password")
    try:
        user = users.sign_up(email, password, request.form.get("display_name", ""))
    except AccountError as exc:
        # The password is given back unless it is what was refused: the page is
        # no-store and goes only to the browser that typed it (see pages/README).
        kept = "" if exc.field == "password" else (password or "")
        return signup_form(400, kept, errors=_field_errors(exc, "email"))
    # New account or taken address (whose owner got a mail instead), this browser gets
    # the same answer: no session until the mailed code is entered, only the address.
    session["pending_email"] = users.normalise_email(email)
    if user is None:
        codes.StandIn(session).start()
    else:
        session.pop(_STAND_IN, None)
    return redirect(url_for("pages.verify", **carry))


# -- the mailed code ----------------------------------------------------------------------
def _verifying():
    """(address, signed-in session or None) of the browser checking a code, else None."""
    pending = session.get("pending_email")
    found = None if pending else sessions.current()
    email = pending or (found[1].email if found else None)
    return (email, found) if email else None


def verify_form(status: int = 200, **context):
    email, found = _verifying()
    code = codes.of(found[1] if found else users.awaiting_verification(email), session)
    wait = context.pop("resend_wait", None) or code.resend_wait()
    return page(
        "verify.html", status, email=email, code=request.form.get("code", ""),
        resend_wait=wait, resend_words=waits.in_words(wait), **_carry(), **context,
    )  # fmt: skip


@bp.route("/verify", methods=["GET", "POST"])
def verify():
    """The mailed code, for the address this browser signed up with (which signs it in)
    or for its signed-in account."""
    carry = _carry()
    verifying = _verifying()
    if verifying is None:
        return redirect(url_for("pages.login", **carry))
    email, found = verifying
    if found and found[1].email_verified:
        return redirect(carry["return_to"])
    if request.method == "GET":
        return verify_form()
    user = found[1] if found else users.awaiting_verification(email)
    code = codes.of(user, session)
    if request.form.get("action") == "resend":
        return _resend(code, email)
    try:
        code.verify(request.form.get("code"))
    except InvalidCode as exc:
        return verify_form(400, errors={"code": exc.description}, error_code=exc.error)
    # Proving the address ends every other session of the account: any opened before
    # the proof belonged to whoever knew a password, not to the address's owner.
    sessions.end_all(user.id, keep=found[0] if found else None)
    return redirect(carry["return_to"]) if found else signed_in(user, carry["return_to"])


def _resend(code, email: str):
    """A new code, unless one went out within the cooldown (then no mail: the wait)."""
    before = code.resend_wait()
    wait = code.resend()
    if before:
        notice = "We sent you a code a moment ago. Check your inbox and spam folder."
    else:
        notice = f"We sent a new code to {email}. Earlier codes no longer work."
    return verify_form(notice=notice, resend_wait=wait)


# -- password reset -----------------------------------------------------------------------
def forgot_form(status: int = 200, **context):
    return page("forgot.html", status, email=request.form.get("email", ""), **_carry(), **context)


@bp.route("/forgot", methods=["GET", "POST"])
def forgot():
    """Ask for a password-reset link (the same answer whether or not the address is known)."""
    carry = _carry()
    if request.method == "GET":
        return forgot_form()
    users.request_reset(request.form.get("email"), lambda token: _reset_link(token, carry))
    return forgot_form(sent=True)


def _reset_link(token: str, carry: dict) -> str:
    """Built on the issuer, never on the request's Host header (reset-link poisoning);
    it carries the app and the page to go back to, so the reset ends in the app."""
    return current_app.config["IDP_ISSUER"] + url_for("pages.reset", token=token, **carry)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    """Set a new password from a mailed link; every session and refresh token ends."""
    carry = _carry()
    try:
        target = users.reset_target(token)
    except AccountError as exc:
        return page("reset.html", 400, invalid=exc.description, **carry)
    email = users.get(target.user_id).email
    if request.method == "GET":
        return page("reset.html", token=token, email=email, **carry)
    try:
        user = users.reset_password(token, request.form.get("password"))
    except AccountError as exc:
        errors = _field_errors(exc, "password")
        return page("reset.html", 400, token=token, email=email, errors=errors, **carry)
    end_all_access(user.id, "password_reset")
    return page(
        "login.html",
        notice="Your password was changed. Sign in with it now.",
        email=user.email,
        first="password",
        **carry,
    )


# Forms shown again, filled in, with the wait when a rate limit refuses them (429).
LIMITED_FORMS = {
    "pages.login": lambda: login_form(429, password=request.form.get("password", "")),
    "pages.signup": lambda: signup_form(429, request.form.get("password", "")),
    "pages.verify": lambda: verify_form(429) if _verifying() else None,
    "pages.forgot": lambda: forgot_form(429),
    "pages.second_factor": lambda: second_factor.limited(),
}


# The second step registers its routes on the same blueprint (imported last: it uses it).
from . import second_factor  # noqa: E402
