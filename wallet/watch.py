"""The wallet's change listener (``ledger.register_change_listener``): what refuses or
follows a change, in its transaction.

* every purchase or plan grant queues its receipt (``receipts``);
* on a watched wallet (``wallets.watched``: it has a spend limit, auto top-up or the
  low-balance mail), a consume or hold is counted against the app's spend limits
  (``spend_limits``, which may refuse it), and a fall of the available credits may send
  the low-balance mail and start an auto top-up (``autotopup``).

The consume's short path (``ledger.spend``) moves only unwatched wallets, so on it this
listener returns at once: a wallet with nothing set pays nothing.
"""

from __future__ import annotations

from idp.core.extensions import db
from idp.users.models import User

from . import autotopup, preferences, receipts, spend_limits
from .ledger import Applied
from .models import PURCHASE, SUBSCRIPTION_GRANT, LedgerEntry, Wallet

_RECEIPTED = frozenset({PURCHASE, SUBSCRIPTION_GRANT})


def on_change(applied: Applied) -> None:
    if not isinstance(applied.entry, LedgerEntry):
        return  # the short path's RETURNING row: an unwatched wallet's consume
    if applied.kind in _RECEIPTED and applied.change.stripe_ref:
        receipts.queue(applied, db.session.get(User, applied.user_id))
    wallet = db.session.get(Wallet, applied.wallet_id)
    if wallet is None or not wallet.watched:
        return
    spend_limits.on_change(applied)
    if applied.available_after >= applied.available_before:
        return
    prefs = preferences.of(applied.wallet_id)
    if prefs is not None:
        user = db.session.get(User, applied.user_id)
        receipts.low_balance(applied, prefs, user)
        autotopup.on_fall(applied, prefs, user)
