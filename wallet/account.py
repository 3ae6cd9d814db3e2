"""The wallet on the account page (``idp.ui.account_sections``) and what deleting an
account does to it (``idp.users.deletion``): its remaining credits are forfeited by one
ledger entry; the wallet and its entries stay, as every ledger does."""

from __future__ import annotations

import contextlib

from flask import request, url_for
from sqlalchemy import select

from idp.apps import services as registry
from idp.apps.services import query_client
from idp.core.db_types import utcnow
from idp.core.extensions import db
from idp.core.i18n import _
from idp.oauth2.services import consents
from idp.users.errors import DeletionRefused
from idp.users.models import User

from . import (
    billing,
    holds,
    ledger,
    packages,
    payments,
    preferences,
    prices,
    services,
    spend_limits,
    stripe_gateway,
)
from .errors import HoldNotActive, PaymentProviderError
from .ledger import Change
from .models import EXPIRE, Hold, Wallet
from .preference_models import DAY, MONTH

# The scope that lets an app spend: the apps a person may cap (wallet.spend_limits).
SPEND_SCOPE = "credits:consume"

HISTORY_PAGE = 10
# The account page's query parameter that pages through the history (older than an id).
BEFORE_PARAM = "wallet_before"
KIND_LABELS = {
    "purchase": "Purchase",
    "subscription_grant": "Subscription credits",
    "promo_grant": "Promotional credits",
    "consume": "Used",
    "hold": "Reserved",
    "capture": "Reserved credits used",
    "release": "Reservation released",
    "refund": "Refund",
    "expire": "Expired",
    "adjustment": "Adjustment",
}


def _existing(user_id: int) -> Wallet | None:
    """The user's wallet without creating one (reading a page must not write)."""
    return db.session.scalar(select(Wallet).where(Wallet.user_id == user_id))


def section(user: User) -> tuple[str, dict]:
    """The account page's wallet section: balance, held and available credits, the
    history (paged, newest first) and the way to buy credits."""
    wallet = _existing(user.id)
    summary = services.summary(wallet) if wallet else {"balance": 0, "held": 0, "available": 0}
    before = request.args.get(BEFORE_PARAM, type=int)
    entries = []
    if wallet is not None:
        entries = services.transactions(wallet, before=before, limit=HISTORY_PAGE + 1)
    older = entries[HISTORY_PAGE - 1].id if len(entries) > HISTORY_PAGE else None
    return "account_wallet.html", {
        "summary": summary,
        "entries": entries[:HISTORY_PAGE],
        "labels": KIND_LABELS,
        "older_url": url_for("pages.account", **{BEFORE_PARAM: older}) + "#wallet-title"
        if older
        else None,
        "newest_url": url_for("pages.account") + "#wallet-title" if before else None,
        "buy_url": url_for("wallet_pages.purchase", return_to="/account"),
        "can_buy": payments.mode() != "disabled",
        "count": prices.count,
        **settings_context(user, wallet=wallet),
    }


def settings_context(user: User, wallet: Wallet | None = None, form=None) -> dict:
    """What the wallet settings forms show: auto top-up, the low-balance mail and the
    spend limits of each app the person let spend their credits (``form``: a refused
    form's values, shown again as typed)."""
    wallet = wallet or _existing(user.id)
    prefs = preferences.of(wallet.id) if wallet else None
    limits = spend_limits.limits_of(wallet.id) if wallet else {}
    apps = spending_apps(user)
    now = utcnow()
    shown_limits = [
        {
            "client_id": client_id,
            "name": apps.get(client_id, client_id),
            "periods": {
                period: {
                    "cap": row.cap,
                    "spent": spend_limits.spent_now(row),
                    "resets_at": spend_limits.resets_at(period, now),
                }
                for period, row in rows.items()
            },
        }
        for client_id, rows in limits.items()
    ]
    return {
        "prefs": prefs,
        "topup_packs": [p for p in packages.on_sale() if not p.interval],
        "limit_apps": apps,
        "limits": shown_limits,
        "periods": (DAY, MONTH),
        "settings_form": form or _settings_values(prefs),
        "payments_mode": payments.mode(),
        "money": prices.money,
        "count": prices.count,
    }


def spending_apps(user: User) -> dict[str, str]:
    """client id -> name of each active app the person let spend their credits: the apps
    a spend limit can be set for."""
    apps = {}
    for consent in consents(user.id):
        client = query_client(consent.client_id)
        if client is not None and SPEND_SCOPE in consent.scopes:
            apps[consent.client_id] = registry.get(consent.client_id).name
    return apps


def _settings_values(prefs) -> dict:
    """The forms' fields as saved."""
    if prefs is None:
        return {"topup_monthly_max": "3"}
    return {
        "topup_enabled": "on" if prefs.topup_enabled else "",
        "topup_below": str(prefs.topup_below or ""),
        "topup_package_id": prefs.topup_package_id or "",
        "topup_monthly_max": str(prefs.topup_monthly_max),
        "low_balance_below": str(prefs.low_balance_below or ""),
    }


def describe_deletion(user: User) -> str | None:
    """What deleting the account does to the wallet, said before the person confirms."""
    wallet = _existing(user.id)
    if wallet is None:
        return None
    said = _subscription_warning(wallet)
    if wallet.balance:
        summary = services.summary(wallet)
        held = summary["held"]
        reserved = (
            _(" (%(held)s of them reserved by apps for work in progress)", held=held)
            if held
            else ""
        )
        said = (
            _(
                "Your %(balance)s credits%(reserved)s will be forfeited: they are not "
                "refunded and cannot be moved to another account. Your credit history is "
                "kept, without your name or address, as payment records must be.",
                balance=summary["balance"],
                reserved=reserved,
            )
            + said
        )
    return said.strip() or None


def _live_subscriptions(wallet: Wallet) -> list:
    return [s for s in billing.subscriptions(wallet.id) if s.status != "canceled"]


def _subscription_warning(wallet: Wallet) -> str:
    if not _live_subscriptions(wallet):
        return ""
    return " " + _(
        "Your subscription is cancelled at once: it is not charged again, and the "
        "current period is not refunded."
    )


def _cancel_subscriptions(wallet: Wallet) -> None:
    """Deletion's first act for the wallet: no plan keeps charging a deleted account.
    A payment provider that cannot cancel refuses the whole deletion (nothing changed)."""
    for subscription in _live_subscriptions(wallet):
        if payments.mode() == "stripe":
            try:
                stripe_gateway.cancel_subscription(subscription.stripe_subscription_id)
            except PaymentProviderError:
                raise DeletionRefused(
                    _(
                        "Your subscription could not be cancelled at the payment provider, "
                        "so your account was not deleted. Try again in a moment."
                    )
                ) from None
        # Stripe's own event says so as well, later; the row says it now.
        subscription.status = "canceled"
        subscription.updated_at = utcnow()


def forfeit(user: User, actor: str) -> None:
    """Deletion step: release the wallet's holds, then one ``expire`` entry takes the
    balance to zero (committed).  The wallet row and its ledger stay."""
    wallet = _existing(user.id)
    if wallet is None:
        return
    _cancel_subscriptions(wallet)
    preferences.forget(wallet.id)  # no auto top-up after the forfeiture, no more mail
    db.session.commit()
    holds.expire_holds(wallet.id)
    active = select(Hold).where(Hold.wallet_id == wallet.id, Hold.status == "active")
    for found in db.session.scalars(active).all():
        with contextlib.suppress(HoldNotActive):  # settled meanwhile
            holds.release(found, actor)
    db.session.refresh(wallet)
    if wallet.balance:
        ledger.apply(
            wallet.id,
            Change(EXPIRE, amount=-wallet.balance, actor=actor, reason="account deleted"),
        )
        db.session.commit()
