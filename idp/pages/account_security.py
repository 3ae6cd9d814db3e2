"""Two-step verification on the account page: the authenticator app (set up by QR code,
confirmed with a first code, turned off with the password) and the recovery codes
(shown once when made, made again with the password).

The section is one of the account page's registered sections
(``idp.ui.account_sections``).  Confirming the app proves it: this browser's session
is replaced by one that used two factors, so a step-up that sent a person here to set
one up continues where it was (``return_to``)."""

from __future__ import annotations

from flask import redirect, request, url_for

from idp.core.i18n import _
from idp.ui.account_sections import register_account_section
from idp.ui.links import safe_return_to
from idp.users import factors, recovery_codes, sessions, totp
from idp.users.errors import AccountError, InvalidCredentials
from idp.users.sessions import signed_in_only

from . import account
from .routes import bp


def section(user):
    """The account page's "Two-step verification" section."""
    return (
        "account_totp_section.html",
        {
            "totp_on": totp.enabled(user),
            "codes_left": recovery_codes.remaining(user),
            "errors": getattr(request, "idp_security_errors", None),
        },
    )


# Registered with each app the pages are (the blueprint's registration is per app).
bp.record_once(lambda state: register_account_section(state.app, section))


def _return_to() -> str | None:
    wanted = request.values.get("return_to")
    return safe_return_to(wanted) if wanted else None


def _setup_page(user, status: int = 200, **context):
    secret = totp.enrolling_secret(user)
    uri = totp.provisioning_uri(user, secret) if secret else None
    return account.render(
        "account_totp.html", status, user=user, secret=secret,
        qr=totp.qr_svg(uri) if uri else None, return_to=_return_to(), **context,
    )  # fmt: skip


@bp.get("/account/two-step")
@signed_in_only
def totp_setup(user):
    """Set up the authenticator app: a button, then the QR code and the code field."""
    if totp.enabled(user):
        return redirect(_return_to() or url_for("pages.account"))
    notice = None
    if _return_to() and sessions.current() is not None:
        notice = _("Set up two-step verification to continue.")
    return _setup_page(user, notice=account.notice() or notice)


@bp.post("/account/two-step/start")
@signed_in_only
def start_totp(user):
    """A new secret for the authenticator app (shown on the setup page)."""
    try:
        totp.start_enrolment(user)
    except AccountError as exc:
        return account.done_at(exc.description, url_for("pages.account"))
    return redirect(url_for("pages.totp_setup", return_to=_return_to()))


@bp.post("/account/two-step")
@signed_in_only
def confirm_totp(user):
    """The app's first code turns it on; the recovery codes made with it are shown once."""
    try:
        created = totp.confirm(user, request.form.get("code"))
    except AccountError as exc:
        return _setup_page(user, exc.status_code, errors={"code": exc.description})
    # The code just proved the second factor: this browser's sign-in now used two.
    here = sessions.current()[0]
    token = sessions.start(user, amr=factors.combined(here.methods, factors.OTP), ends=here.id)
    response = account.render(
        "recovery_codes.html", codes=created, next_url=_return_to() or url_for("pages.account"),
        notice=_("Two-step verification is on."),
    )  # fmt: skip
    return sessions.set_cookie(response, token)


def _refused(user, field: str, exc: AccountError):
    """The account page again, the error at the section's field."""
    request.idp_security_errors = {field: exc.description}
    return account.page_of(user, exc.status_code if exc.status_code < 500 else 400)


@bp.post("/account/two-step/disable")
@signed_in_only
def disable_totp(user):
    """Turn the authenticator app off (the password proves the owner asks)."""
    try:
        totp.disable(user, request.form.get("totp_password"))
    except InvalidCredentials as exc:
        return _refused(user, "totp_password", exc)
    return account.done(_("Two-step verification with an authenticator app is off."))


@bp.post("/account/recovery-codes")
@signed_in_only
def regenerate_recovery_codes(user):
    """Ten new recovery codes (the old ones stop working), shown once."""
    if not factors.has_second_factor(user):
        return redirect(url_for("pages.account"))
    try:
        created = recovery_codes.regenerate(user, request.form.get("codes_password"))
    except InvalidCredentials as exc:
        return _refused(user, "codes_password", exc)
    return account.render(
        "recovery_codes.html", codes=created, next_url=url_for("pages.account"),
        notice=_("New recovery codes made: the old ones no longer work."),
    )  # fmt: skip
