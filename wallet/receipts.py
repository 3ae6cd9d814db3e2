"""Mails that follow a wallet change: a receipt for each purchase (with Stripe's receipt
link), and the opt-in low-balance mail.

A receipt is an outbox job (kind ``wallet_receipt``) written in the grant's transaction:
its handler asks Stripe for the receipt link off the request and webhook path (a
failure is retried by the outbox), then queues the mail.  The simulated mode has no
Stripe receipt: its stand-in link is the account page's credit history.
"""

from __future__ import annotations

from flask import current_app

from idp.core import mail, outbox
from idp.core.i18n import _
from idp.users.models import User

from . import payments, prices, stripe_gateway
from .ledger import Applied
from .preference_models import WalletPreferences

KIND = "wallet_receipt"


def queue(applied: Applied, user: User) -> None:
    """A receipt for a purchase or a plan's credits (in the grant's transaction)."""
    outbox.enqueue(
        KIND,
        user.email,
        {
            "ref": applied.change.stripe_ref,
            "credits": applied.amount,
            "available": applied.available_after,
            "plan": applied.kind != "purchase",
        },
    )


def deliver(message: outbox.OutboxMessage) -> None:
    """Outbox handler: the receipt link, then the mail (queued with this job's "sent")."""
    sent = message.payload
    link = receipt_link(sent["ref"])
    lines = [
        _("Thank you for your purchase.")
        if not sent["plan"]
        else _("Your plan's credits for this period were added."),
        "",
        _("Credits added: %(credits)s", credits=prices.count(sent["credits"])),
        _("Available now: %(available)s", available=prices.count(sent["available"])),
        _("Reference: %(ref)s", ref=sent["ref"]),
        "",
    ]
    if link:
        lines += [_("Your receipt:"), link, ""]
    subject = _("Your receipt for %(credits)s credits", credits=prices.count(sent["credits"]))
    mail.send(message.recipient, subject, "\n".join(lines))


def receipt_link(ref: str) -> str | None:
    """Stripe's receipt for ``ref``; in the simulated mode, the account page's history."""
    if "_sim_" in ref or payments.mode() != "stripe":
        return current_app.config["IDP_ISSUER"] + "/account#wallet"
    return stripe_gateway.receipt_url(ref)


def low_balance(applied: Applied, prefs: WalletPreferences, user: User) -> None:
    """The low-balance mail, once per fall below the person's threshold (in the change's
    transaction: it is sent only if the change commits)."""
    below = prefs.low_balance_below
    if below is None or not applied.available_before >= below > applied.available_after:
        return
    mail.send(
        user.email,
        _("Your credits are running low"),
        _(
            "You have %(available)s credits available, fewer than the %(below)s you asked "
            "to be told about.\n\nBuy credits or change this mail on your account page:\n"
            "%(url)s\n",
            available=prices.count(applied.available_after),
            below=prices.count(below),
            url=current_app.config["IDP_ISSUER"] + "/account#wallet",
        ),
    )
