"""The second step of a sign-in: after the password, a code from the authenticator app,
a recovery code, or whatever other factor the account holds (a passkey: its own page,
linked from here).  Also the step-up of a signed-in browser whose sign-in is not strong
enough for what it asks (``acr_values``, an app's ``require_mfa``, a large purchase):
the factor alone, then a new session takes the old one's place.

Nothing is signed in until the factor is proved (``idp.users.factors``)."""

from __future__ import annotations

from flask import redirect, request, url_for

from idp.ui.links import safe_return_to
from idp.ui.views import page
from idp.users import factors, recovery_codes, sessions, totp
from idp.users.errors import AccountError

from .routes import bp

_METHODS = (totp.KIND, recovery_codes.KIND)


def _carry() -> dict:
    return {
        "return_to": safe_return_to(request.values.get("return_to")),
        "client_id": request.values.get("client_id") or None,
    }


def _method(user) -> str:
    """The form shown: the one asked for, else the authenticator app when the account
    has one, else a recovery code."""
    wanted = request.values.get("method")
    if wanted in _METHODS:
        return wanted
    return totp.KIND if totp.enabled(user) else recovery_codes.KIND


def _form(found: factors.Pending, status: int = 200, **context):
    carry = _carry()
    method = _method(found.user)
    others = [
        {"kind": f.kind, "label": f.label, "href": f.href(carry)}
        for f in factors.offered(found.user)
        if f.kind != method
    ]
    return page(
        "second_factor.html", status, method=method, others=others,
        step_up=found.replaces is not None, **carry, **context,
    )  # fmt: skip


def _only_elsewhere(user) -> str | None:
    """The page of the account's factor when it has neither an authenticator app nor a
    choice made here (a passkey: its own page), else None."""
    if request.args.get("method") or totp.enabled(user):
        return None
    for factor in factors.offered(user):
        if factor.kind not in _METHODS:
            return factor.href(_carry())
    return None


def _pending_or_step_up():
    """This browser's pending sign-in; for a signed-in browser with no pending one, a
    step-up of its session begins (the factor alone: the password was proved when it
    signed in).  None: nothing to do here (signed out, or nothing to prove it with)."""
    found = factors.pending()
    if found is not None:
        return found
    signed_in = sessions.current()
    if signed_in is None or not factors.has_second_factor(signed_in[1]):
        return None
    session_row, user = signed_in
    factors.begin_second_step(user, session_row.methods, _carry()["return_to"], session_row)
    return factors.pending()


@bp.route("/login/second-factor", methods=["GET", "POST"])
def second_factor():
    """The second factor of this browser's sign-in."""
    carry = _carry()
    found = _pending_or_step_up()
    if found is None:
        if sessions.current() is not None:
            # Signed in without any second factor: set one up, then carry on.
            return redirect(url_for("pages.totp_setup", **carry))
        return redirect(url_for("pages.login", **carry))
    if request.method == "GET":
        elsewhere = _only_elsewhere(found.user)
        return redirect(elsewhere) if elsewhere else _form(found)
    method = _method(found.user)
    try:
        if method == totp.KIND:
            totp.verify(found.user, request.form.get("code"))
        else:
            recovery_codes.use(found.user, request.form.get("recovery_code"))
    except AccountError as exc:
        return _form(found, exc.status_code, errors={exc.field or "code": exc.description})
    completed = factors.complete_second_step(factors.OTP)
    return completed.apply(redirect(completed.next))


@bp.post("/login/second-factor/cancel")
def cancel_second_factor():
    """Start the sign-in again (another account, or no factor at hand)."""
    factors.cancel_second_step()
    return redirect(url_for("pages.login", **_carry()))


def limited():
    """The form again, with the wait, when the rate limit refuses a guess (429)."""
    found = factors.pending()
    return _form(found, 429) if found else None
