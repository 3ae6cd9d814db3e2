"""The state of automatic purchases (``wallet.autotopup``): an attempt is pending until it
succeeds (its PaymentIntent paid) or fails (declined, no saved card); failures in a row
are counted per wallet and the third switches auto top-up off, with a mail.

Shared by the top-up job and the Stripe events about its PaymentIntents
(``wallet.topup_webhooks``): each transition is a conditional UPDATE, so however often
an outcome is reported (the job's answer, then Stripe's event), it counts once.
"""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select, update

from idp.core import mail
from idp.core.db_types import utcnow
from idp.core.extensions import db
from idp.core.i18n import _
from idp.users.models import User

from . import preferences
from .models import Wallet
from .preference_models import TopUpAttempt, WalletPreferences

log = logging.getLogger("idp.wallet.autotopup")
MAX_FAILURES = 3  # consecutive failed top-ups before auto top-up switches itself off


def succeeded(payment_intent_id: str, crossing: object = None) -> None:
    """The PaymentIntent paid (its credits are being granted in this transaction): the
    attempt succeeded and the run of failures ends.  The attempt is found by its
    crossing too: Stripe's event may come before the job recorded the PaymentIntent."""
    attempt = _attempt_of(payment_intent_id, crossing)
    if attempt is None:
        return
    settled = db.session.execute(
        update(TopUpAttempt)
        .where(TopUpAttempt.id == attempt.id, TopUpAttempt.status != "succeeded")
        .values(status="succeeded", settled_at=utcnow(), payment_intent_id=payment_intent_id)
    )
    if settled.rowcount:
        prefs = db.session.get(WalletPreferences, attempt.wallet_id)
        if prefs is not None:
            prefs.topup_failures = 0


def failed(payment_intent_id: str | None, reason: str, crossing: object = None) -> None:
    """``payment_intent.payment_failed`` for a top-up (counted once per attempt)."""
    attempt = _attempt_of(payment_intent_id, crossing)
    if attempt is not None:
        fail(attempt, reason, commit=False)


def _attempt_of(payment_intent_id: str | None, crossing: object) -> TopUpAttempt | None:
    """The attempt of a PaymentIntent: by its id, else by the crossing its metadata names."""
    if payment_intent_id:
        found = db.session.scalar(
            select(TopUpAttempt).where(TopUpAttempt.payment_intent_id == payment_intent_id)
        )
        if found is not None:
            return found
    if not isinstance(crossing, str) or not crossing:
        return None
    return db.session.scalar(select(TopUpAttempt).where(TopUpAttempt.crossing == crossing[:64]))


def fail(attempt: TopUpAttempt, reason: str, *, commit: bool = True) -> None:
    """The attempt failed: one more failure in a row (once per attempt, by a conditional
    UPDATE); the third switches auto top-up off and mails the person."""
    moved = db.session.execute(
        update(TopUpAttempt)
        .where(TopUpAttempt.id == attempt.id, TopUpAttempt.status == "pending")
        .values(status="failed", failure=reason[:64], settled_at=utcnow())
    )
    if moved.rowcount:
        log.info("auto top-up attempt %s failed: %s", attempt.id, reason)
        prefs = db.session.get(WalletPreferences, attempt.wallet_id, with_for_update=True)
        prefs.topup_failures += 1
        if prefs.topup_failures >= MAX_FAILURES and prefs.topup_enabled:
            preferences.switch_off_topup(prefs)
            _mail_switched_off(attempt.wallet_id)
    if commit:
        db.session.commit()


def _mail_switched_off(wallet_id: int) -> None:
    user = db.session.get(User, db.session.get(Wallet, wallet_id).user_id)
    account = current_app.config["IDP_ISSUER"] + "/account#wallet"
    mail.send(
        user.email,
        _("Auto top-up is switched off"),
        _(
            "Your last %(count)s automatic credit purchases failed, so auto top-up is now "
            "switched off and no more attempts will be made.\n\nCheck the card saved for "
            "your purchases, then turn auto top-up on again on your account page:\n"
            "%(url)s\n",
            count=MAX_FAILURES,
            url=account,
        ),
    )
