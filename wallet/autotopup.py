"""Auto top-up: when a wallet's available credits fall below the person's threshold,
buy their chosen pack with the card saved at an earlier checkout.

* **Trigger** (in the change's transaction, ``wallet.watch``): a change that takes the
  available credits from at least the threshold to below it is a *crossing*.  Changes to
  one wallet are serialised by its row's lock, so concurrent consumes see one crossing
  between them, and the crossing's entry id names it: one :class:`TopUpAttempt` per
  crossing (a unique column), counted against the month's maximum in the same
  transaction, and one outbox job (kind ``wallet_topup``) to make the payment off the
  request path.
* **Payment** (the job, :func:`deliver`): an off-session PaymentIntent on the Stripe
  customer's default payment method (``stripe_gateway.charge_saved_card``), its
  idempotency key the crossing, so a retried job never pays twice; the simulated mode
  makes up the same PaymentIntent.  The credits arrive like any purchase's: by the
  ``payment_intent.succeeded`` event (``wallet.topup_webhooks``), granted once per
  PaymentIntent id.
* **Failures**: a declined or missing card fails the attempt; three failures in a row
  switch auto top-up off and tell the person by mail.  A provider outage is not a
  failure: the job raises and the outbox tries again later.
"""

from __future__ import annotations

import logging

from idp.core import outbox
from idp.core.db_types import utcnow
from idp.core.extensions import db
from idp.users.models import User

from . import billing, packages, payments, simulated, stripe_gateway
from .errors import PackageNotFound
from .ledger import Applied
from .models import Wallet
from .preference_models import MONTH, TopUpAttempt, WalletPreferences
from .spend_limits import window_start
from .topup_attempts import fail

log = logging.getLogger("idp.wallet.autotopup")
KIND = "wallet_topup"


def on_fall(applied: Applied, prefs: WalletPreferences, user: User) -> None:
    """A change lowered the available credits: start a top-up if this is a crossing of
    the threshold and the month allows another.  In the change's transaction."""
    below = prefs.topup_below
    if not prefs.topup_enabled or below is None or not prefs.topup_package_id:
        return
    if not applied.available_before >= below > applied.available_after:
        return
    month = window_start(MONTH, utcnow())
    if prefs.topup_month_start != month:
        prefs.topup_month_start, prefs.topup_month_count = month, 0
    if prefs.topup_month_count >= prefs.topup_monthly_max:
        log.info("auto top-up of wallet %s skipped: monthly maximum reached", applied.wallet_id)
        return
    prefs.topup_month_count += 1
    attempt = TopUpAttempt(
        wallet_id=applied.wallet_id,
        crossing=f"idp-topup-{applied.wallet_id}-{applied.entry.id}",
        package_id=prefs.topup_package_id,
        status="pending",
        created_at=utcnow(),
    )
    db.session.add(attempt)
    db.session.flush()
    outbox.enqueue(KIND, user.email, {"attempt": attempt.id})


def deliver(message: outbox.OutboxMessage) -> None:
    """Outbox handler: pay for one attempt (at most once, whatever the retries)."""
    attempt_id = message.payload.get("attempt")
    attempt = db.session.get(TopUpAttempt, attempt_id) if attempt_id else None
    if attempt is None or attempt.status != "pending":
        return
    if attempt.payment_intent_id and payments.mode() == "stripe":
        return  # Stripe has it and reports it by its events (the simulated mode redelivers)
    wallet = db.session.get(Wallet, attempt.wallet_id)
    user = db.session.get(User, wallet.user_id)
    try:
        package = packages.get(attempt.package_id)
    except PackageNotFound:
        fail(attempt, "package_not_on_sale")
        return
    if payments.mode() == "simulated":
        outcome = simulated.charge_saved_card(wallet, user, package, attempt.crossing)
    elif payments.mode() == "stripe":
        outcome = stripe_gateway.charge_saved_card(wallet, user, package, attempt.crossing)
    else:
        outcome = {"failure": "payments_not_configured"}
    if "failure" in outcome:
        fail(attempt, outcome["failure"])
        return
    _started(attempt, wallet, package, outcome["payment_intent"])
    if "deliver" in outcome:
        outcome["deliver"]()  # the simulated mode's payment_intent.succeeded


def _started(attempt: TopUpAttempt, wallet: Wallet, package, payment_intent_id: str) -> None:
    """Remember the PaymentIntent, and record it as a checkout (a one-off payment whose
    id is the PaymentIntent's): its grant and a later refund then find it as they find a
    Checkout purchase.  Committed before the credits' event is handled."""
    attempt.payment_intent_id = payment_intent_id
    if billing.checkout(payment_intent_id) is None:
        billing.record_checkout_within(
            payment_intent_id,
            wallet.id,
            package_id=package.id,
            client_id=None,
            credits=package.credits,
            mode="payment",
        )
        billing.advance_checkout(
            billing.checkout(payment_intent_id), "pending", payment_intent_id=payment_intent_id
        )
    db.session.commit()
