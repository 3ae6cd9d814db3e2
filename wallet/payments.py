"""Purchases: Stripe Checkout and the billing portal (filled in by the payments work)."""

from __future__ import annotations

from flask import current_app

from .errors import PaymentsDisabled


def mode() -> str:
    """ "stripe", "simulated" (development only) or "disabled"."""
    return current_app.config["IDP_PAYMENTS"]


def start_checkout(
    wallet, user, client_id, *, package_id=None, amount=None, success_url=None, cancel_url=None
) -> dict:
    raise PaymentsDisabled()


def portal_url(wallet, user, client_id, return_url) -> str:
    raise PaymentsDisabled()
