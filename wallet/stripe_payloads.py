"""Readers of Stripe's event payloads, in the shapes of current (2025+) and older API
versions.  A field that is missing or of the wrong type reads as None or empty, so the
handlers decide what to ignore instead of failing on a shape they did not expect.
"""

from __future__ import annotations

from .schemas import MAX_AMOUNT


def invoice_subscription(invoice: dict) -> str | None:
    """The subscription an invoice bills (``parent`` since 2025, top level before)."""
    details = (obj(invoice.get("parent")).get("subscription_details")) or {}
    return ref(obj(details).get("subscription")) or ref(invoice.get("subscription"))


def invoice_metadata(invoice: dict) -> dict:
    """The subscription's metadata as the invoice carries it (either API shape)."""
    details = obj(obj(invoice.get("parent")).get("subscription_details"))
    legacy = obj(invoice.get("subscription_details"))
    return metadata(details) or metadata(legacy)


def invoice_prices(invoice: dict) -> list[str]:
    """The Stripe Price ids the invoice's lines bill."""
    prices = []
    for line in obj(invoice.get("lines")).get("data") or []:
        line = obj(line)
        details = obj(obj(line.get("pricing")).get("price_details"))
        price = ref(details.get("price")) or ref(line.get("price")) or ref(line.get("plan"))
        if price:
            prices.append(price)
    return prices


def subscription_prices(sub: dict) -> list[str]:
    """The Stripe Price ids of a subscription's items (or its legacy ``plan``)."""
    items = obj(sub.get("items")).get("data") or []
    prices = [ref(obj(item).get("price")) for item in items]
    return [p for p in [*prices, ref(sub.get("plan"))] if p]


def period_end(sub: dict) -> int | None:
    """Top level before API version 2025-03-31; on the subscription items since."""
    if isinstance(sub.get("current_period_end"), int):
        return sub["current_period_end"]
    ends = [obj(item).get("current_period_end") for item in obj(sub.get("items")).get("data") or []]
    ends = [e for e in ends if isinstance(e, int) and not isinstance(e, bool)]
    return max(ends, default=None)


def ref(value: object) -> str | None:
    """A Stripe reference, expanded (an object) or not (its id)."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and 0 < len(value) <= 255 else None


def obj(value: object) -> dict:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def metadata(stripe_object: dict) -> dict:
    """The ``metadata`` object of a Stripe object (empty when absent or malformed)."""
    return obj(stripe_object.get("metadata"))


def short(value: object, limit: int) -> str | None:
    """``value`` if it is a non-empty string of at most ``limit`` characters, else None."""
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def positive_int(value: object) -> int | None:
    """A metadata number (Stripe metadata values are strings) from 1 to MAX_AMOUNT."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_AMOUNT else None
