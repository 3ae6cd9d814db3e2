"""The user's subscriptions as the credit API shows them (``GET /api/cross-app/subscription``,
read by the SDK's ``PaymentSDK.getSubscription()``)."""

from __future__ import annotations

from . import billing, packages
from .errors import PackageNotFound
from .models import Subscription

# Stripe statuses after which a subscription grants nothing more (it is history).
ENDED = frozenset({"canceled", "incomplete_expired"})


def to_dict(row: Subscription) -> dict:
    """A subscription with its plan (as the catalogue shows it, even if no longer on sale)."""
    try:
        plan = packages.to_dict(packages.get(row.package_id, active_only=False))
    except PackageNotFound:
        plan = None
    return {
        "id": row.stripe_subscription_id,
        "status": row.status,
        "package_id": row.package_id,
        "plan": plan,
        "client_id": row.client_id,
        "current_period_end": (
            row.current_period_end.isoformat() if row.current_period_end else None
        ),
        "cancel_at_period_end": bool(row.cancel_at_period_end),
    }


def overview(wallet_id: int) -> dict:
    """``subscription``: the newest one that has not ended (or null); ``subscriptions``:
    all of them, newest first."""
    rows = billing.subscriptions(wallet_id)
    current = next((r for r in rows if r.status not in ENDED), None)
    return {
        "subscription": to_dict(current) if current is not None else None,
        "subscriptions": [to_dict(r) for r in rows],
    }
