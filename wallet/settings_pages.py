"""The wallet settings forms of the account page's wallet section: auto top-up, the
low-balance mail and per-app spend limits.

Each form POSTs here; a saved form redirects back to the account page (its result
flashed, shown once by the account page), a refused one is shown again on the wallet
settings page with the error at its field (``idp.pages`` renders the account page and is
this package's sibling, so the refused form cannot be put back into it)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for

from idp.core.errors import IdPError
from idp.core.i18n import _
from idp.ui.views import frame_policy, page
from idp.users.sessions import signed_in_only

from . import ledger, preferences, purchase_form
from .account import settings_context, spending_apps
from .errors import WalletError
from .preference_models import DAY, MONTH

# Under the account page's path; the forms' stylesheet beside the other pages' assets.
bp = Blueprint(
    "wallet_settings",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/wallet",
)
_BACK = "/account/wallet"


def _number(field: str, *, optional: bool = True) -> int | None:
    """A whole number of credits as typed ("1,000"); empty is None where allowed."""
    raw = (request.form.get(field) or "").strip()
    if not raw and optional:
        return None
    value = purchase_form.amount_of(raw)
    if value is None:
        raise WalletError(purchase_form.AMOUNT_HELP, field=field)
    return value


def _refused(user, exc: IdPError):
    field = exc.extra.get("field")
    errors = {field: exc.description} if field else None
    error = None if field else exc.description
    context = settings_context(user, form=request.form)
    response = page("wallet_settings.html", 400, app=None, errors=errors, error=error, **context)
    return frame_policy(response, None)


def _saved(message: str):
    flash(message)
    return redirect(url_for("pages.account") + "#wallet-settings-title", 303)


@bp.get(_BACK)
@signed_in_only
def settings(user):
    """The same forms on a page of their own (where a refused form is shown again)."""
    return frame_policy(page("wallet_settings.html", app=None, **settings_context(user)), None)


@bp.post(_BACK + "/auto-top-up")
@signed_in_only(back_after_post=_BACK)
def auto_topup(user):
    wallet = ledger.wallet_for(user.id)
    enabled = request.form.get("topup_enabled") == "on"
    try:
        monthly = _number("topup_monthly_max", optional=not enabled) or 3
        preferences.set_auto_topup(
            wallet.id,
            enabled=enabled,
            below=_number("topup_below", optional=not enabled),
            package_id=request.form.get("topup_package_id") or None,
            monthly_max=monthly,
        )
    except IdPError as exc:
        return _refused(user, exc)
    return _saved(_("Auto top-up is on.") if enabled else _("Auto top-up is off."))


@bp.post(_BACK + "/low-balance")
@signed_in_only(back_after_post=_BACK)
def low_balance(user):
    wallet = ledger.wallet_for(user.id)
    try:
        below = _number("low_balance_below")
        preferences.set_low_balance(wallet.id, below)
    except IdPError as exc:
        return _refused(user, exc)
    if below is None:
        return _saved(_("You will not be mailed about a low balance."))
    return _saved(_("You will be mailed when your credits fall below %(below)s.", below=below))


@bp.post(_BACK + "/limits")
@signed_in_only(back_after_post=_BACK)
def limits(user):
    wallet = ledger.wallet_for(user.id)
    client_id = request.form.get("limit_app") or ""
    try:
        if client_id not in spending_apps(user):
            raise WalletError(_("Choose one of your apps."), field="limit_app")
        caps = {DAY: _number("limit_day"), MONTH: _number("limit_month")}
        preferences.set_spend_limits(wallet.id, client_id, caps)
    except IdPError as exc:
        return _refused(user, exc)
    return _saved(_("The spend limits were saved."))
