"""Prices on the purchase pages as people read them (wallet.prices): the currency's
symbol and its minor units, thousands separators, and the value of one credit."""

from __future__ import annotations

import pytest

from wallet import prices


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (500, "usd", "$5.00"),
        (500, "USD", "$5.00"),
        (1999, "eur", "€19.99"),
        (5, "gbp", "£0.05"),
        (500, "jpy", "¥500"),  # no decimals: 500 is five hundred yen, not five
        (123456789, "usd", "$1,234,567.89"),
        (1234567, "jpy", "¥1,234,567"),
        (1500, "kwd", "1.500 KWD"),  # three decimals
        (12345, "chf", "123.45 CHF"),  # no symbol in the table: the code
        (0, "usd", "$0.00"),
    ],
)
def test_money(amount, currency, shown):
    assert prices.money(amount, currency) == shown


@pytest.mark.parametrize(
    ("amount", "units", "currency", "shown"),
    [
        (500, 500, "usd", "$0.01"),
        (1000, 100, "usd", "$0.10"),  # the currency's decimals kept
        (500, 200, "usd", "$0.025"),  # not rounded to $0.03 or $0.02
        (1000, 1200, "usd", "$0.0083"),  # a fraction of a cent: two significant digits
        (2000, 1000, "gbp", "£0.02"),
        (500, 100, "jpy", "¥5"),
        (100, 300, "jpy", "¥0.33"),
        (150, 100, "jpy", "¥1.5"),
        (10000, 1, "jpy", "¥10,000"),
        (0, 10, "eur", "€0.00"),
    ],
)
def test_per_unit(amount, units, currency, shown):
    assert prices.per_unit(amount, units, currency) == shown


@pytest.mark.parametrize(
    ("currency", "parts"),
    [
        ("usd", {"prefix": "$", "suffix": "", "exponent": 2}),
        ("jpy", {"prefix": "¥", "suffix": "", "exponent": 0}),
        ("chf", {"prefix": "", "suffix": " CHF", "exponent": 2}),
    ],
)
def test_parts_for_the_live_total(currency, parts):
    assert prices.parts(currency) == parts


def test_count_groups_thousands():
    assert [prices.count(n) for n in (7, 1234, 1_000_000_000)] == ["7", "1,234", "1,000,000,000"]
