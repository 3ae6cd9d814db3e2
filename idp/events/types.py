"""The event types partners may subscribe to, and what each needs the user to have
granted the app before the app hears of it ("only what that app may see")."""

from __future__ import annotations

CREDITS = frozenset({"credits:read", "credits:consume", "credits:purchase"})

#: type -> the scopes of which the user must have granted at least one (empty: any grant).
TYPES: dict[str, frozenset[str]] = {
    "credits.purchased": CREDITS,
    "credits.granted": CREDITS,
    "credits.consumed": CREDITS,  # opt-in: never part of a default subscription
    "credits.low": CREDITS,
    "credits.expired": CREDITS,
    "subscription.updated": CREDITS,
    "consent.granted": frozenset(),
    "consent.revoked": frozenset(),
    "user.updated": frozenset(),
    "user.deleted": frozenset(),
}
#: Subscribed to when an endpoint names no types: everything but the high-volume one.
DEFAULT = tuple(sorted(set(TYPES) - {"credits.consumed"}))
#: What of the user each app sees in ``data`` beyond ``sub``: by scope granted.
PROFILE_FIELDS = {"email": ("email", "email_verified"), "profile": ("name",)}
