"""The purchase page's form: what a person chose (a pack or plan, or a number of credits
typed as people type numbers) and the "Another amount" field as shown again: the value
they typed kept, its total, its button's name, its error in words."""

from __future__ import annotations

from . import prices
from .errors import WalletError
from .schemas import MAX_AMOUNT

AMOUNT_HELP = f"Enter a whole number of credits from 1 to {prices.count(MAX_AMOUNT)}."
# Thousands separators people type ("1,234", "1 234"); a decimal point is not one.
_GROUPING = str.maketrans("", "", ", \u00a0\u202f")


def amount_of(raw: str | None) -> int | None:
    """A number of credits as typed (" 1,234 "), or None unless it is a whole number from 1
    to :data:`~wallet.schemas.MAX_AMOUNT` in ASCII digits (int() would take other
    scripts' digits, "+1" and "1_000")."""
    text = (raw or "").strip().translate(_GROUPING)
    # The length check first: int() of a long enough digit string is itself an error.
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(MAX_AMOUNT))):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_AMOUNT else None


def choice(form) -> dict:
    """The form's package, or its number of credits; a bad number is the field's error."""
    if form.get("package_id"):
        return {"package_id": form["package_id"]}
    if "amount" not in form:
        raise WalletError("Choose a pack or a plan, or enter a number of credits.")
    amount = amount_of(form["amount"])
    if amount is None:
        raise WalletError(AMOUNT_HELP, field="amount")
    return {"amount": amount}


def custom(raw: str | None, unit_minor: int, currency: str) -> dict:
    """The "Another amount" field: ``raw`` (what was typed, or the SDK's preset) kept as
    it was, the total and the button's name when it is a valid number, and what
    purchase.js needs to recompute them as the person types."""
    amount = amount_of(raw)
    return {
        "value": raw,
        "total": prices.money(amount * unit_minor, currency) if amount else None,
        "button": f"Buy {prices.count(amount)} credits" if amount else "Buy credits",
        "unit_price": prices.money(unit_minor, currency),
        "unit_minor": unit_minor,
        "max": MAX_AMOUNT,
        "help": AMOUNT_HELP,
        **prices.parts(currency),
    }
