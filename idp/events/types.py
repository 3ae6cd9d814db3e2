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
#: What of the emitter's ``data`` each type's payload carries (anything else, such as
#: the wallet's ``available_before``, stays inside); ``available`` is the emitter's
#: ``available_after``.  credits.low and user.updated are shaped by ``services``.
FIELDS: dict[str, tuple[str, ...]] = {
    "credits.purchased": ("credits",),
    "credits.granted": ("credits",),
    "credits.consumed": ("credits", "available", "client_id", "service"),
    "credits.expired": ("credits", "available"),
    "credits.low": ("available", "threshold"),
    "subscription.updated": ("status", "plan"),
    "consent.granted": ("client_id", "scopes"),
    "consent.revoked": ("client_id",),
    "user.updated": ("changed",),
    "user.deleted": (),
}
#: Detail of another app's action that an app does not see (as the transactions API
#: withholds it): null unless the event's ``client_id`` is the receiving app's.
OWN_ONLY = ("client_id", "service")
