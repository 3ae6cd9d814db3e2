"""Prices as people read them: "$5.00", "¥500", "$0.01 per credit".

Babel is not a dependency, and the pages are in English, so this is a small table of
the currencies partners price in rather than CLDR: a symbol for USD, EUR, GBP and JPY,
the currency's code for the others ("5.00 CHF").  Amounts are in minor units scaled as
Stripe scales them (its zero- and three-decimal currencies; two decimals otherwise), so
no price is shown a hundred times too big or small.  purchase.js formats the live total
from the same parts (:func:`parts`).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}
# Stripe's zero-decimal currencies (amounts are whole units) and three-decimal ones.
_ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)
_THREE_DECIMAL = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])
# A price per credit is often a fraction of the smallest coin (1,000 credits for $1.00
# are a tenth of a cent each): it keeps this many significant digits.
_PER_UNIT_DIGITS = 2


def exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit (2 for USD, 0 for JPY, 3 for KWD)."""
    code = currency.lower()
    return 0 if code in _ZERO_DECIMAL else 3 if code in _THREE_DECIMAL else 2


def parts(currency: str) -> dict:
    """What a formatter needs: ``prefix`` and ``suffix`` around the number, ``exponent``."""
    symbol = _SYMBOLS.get(currency.lower())
    if symbol:
        return {"prefix": symbol, "suffix": "", "exponent": exponent(currency)}
    return {"prefix": "", "suffix": " " + currency.upper(), "exponent": exponent(currency)}


def money(amount_minor: int, currency: str) -> str:
    """An amount in minor units: ``money(500, "usd")`` is "$5.00", ``(500, "jpy")`` "¥500"."""
    return _wrap(_grouped(Decimal(amount_minor).scaleb(-exponent(currency))), currency)


def per_unit(amount_minor: int, units: int, currency: str) -> str:
    """The price of one of ``units`` for ``amount_minor`` in all: "$0.01" for 500 credits
    at $5.00.  The currency's decimals, and more where two significant digits need them
    ("$0.025" for 200 credits at $5.00, "$0.0083" for 1,200 at $10.00), rounded half up."""
    places = exponent(currency)
    value = Decimal(amount_minor).scaleb(-places) / Decimal(units)
    if value:
        places = max(places, _PER_UNIT_DIGITS - 1 - value.adjusted())
    shown = value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    trimmed = shown.normalize()  # no trailing zeros beyond the currency's decimals
    if trimmed.as_tuple().exponent > -exponent(currency):
        return _wrap(_grouped(shown.quantize(Decimal(1).scaleb(-exponent(currency)))), currency)
    return _wrap(_grouped(trimmed), currency)


def count(number: int) -> str:
    """A whole number with thousands separators: "1,234"."""
    return f"{number:,}"


def _grouped(value: Decimal) -> str:
    return f"{value:,f}"


def _wrap(number: str, currency: str) -> str:
    shape = parts(currency)
    return f"{shape['prefix']}{number}{shape['suffix']}"
