"""Changing the account's address from the account page: the new address and the
password, then the code mailed to the new address (``idp.users.email_change``).  The
pages say the same whether or not the new address is taken."""

from __future__ import annotations

from flask import redirect, request, session, url_for

from idp.ui import waits
from idp.users import codes, email_change
from idp.users.errors import AccountError, InvalidCode
from idp.users.sessions import signed_in_only

from . import account
from .routes import bp

# The address being proven, in the browser's signed session (the code is bound to it).
PENDING = "email_change"


@bp.post("/account/email")
@signed_in_only
def change_email(user):
    """Ask for a new address: a code goes to it (or, if taken, to nobody)."""
    try:
        new_email = email_change.request_change(
            user, request.form.get("new_email"), request.form.get("email_password")
        )
    except AccountError as exc:
        field = "email_password" if exc.field == "password" else "new_email"
        return account.page_of(user, 400, errors={field: exc.description})
    session[PENDING] = new_email
    return redirect(url_for("pages.verify_new_email"))


def _form(user, new_email: str, status: int = 200, **context):
    wait = context.pop("resend_wait", None) or codes.resend_wait(user)
    return account.render(
        "account_email_verify.html",
        status,
        new_email=new_email,
        code=request.form.get("code", ""),
        resend_wait=wait,
        resend_words=waits.in_words(wait),
        **context,
    )


@bp.route("/account/email/verify", methods=["GET", "POST"])
@signed_in_only
def verify_new_email(user):
    """The code sent to the new address; only once it is entered does the address change."""
    new_email = session.get(PENDING)
    if not new_email:
        return redirect(url_for("pages.account"))
    if request.method == "GET":
        return _form(user, new_email)
    if request.form.get("action") == "resend":
        return _resend(user, new_email)
    try:
        email_change.confirm(user, new_email, request.form.get("code"))
    except InvalidCode as exc:
        return _form(user, new_email, 400, errors={"code": exc.description})
    session.pop(PENDING, None)
    return account.done(f"Your email address is now {new_email}.")


def _resend(user, new_email: str):
    """A new code, unless one went out within the cooldown (then no mail: the wait)."""
    if codes.resend_wait(user):
        message = "We sent you a code a moment ago. Check your inbox and spam folder."
    else:
        email_change.resend(user, new_email)
        message = f"We sent a new code to {new_email}. Earlier codes no longer work."
    return account.done_at(message, url_for("pages.verify_new_email"))


@bp.post("/account/email/cancel")
@signed_in_only
def cancel_email_change(user):
    """Keep the current address (the code sent to the new one stops mattering)."""
    session.pop(PENDING, None)
    return account.done("Your email address was not changed.")
