"""`flask wallet show|grant|adjust` with --json, and the header rows of list output."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from idp.core.extensions import db
from wallet import packages
from wallet.models import Wallet

from .actions import entries, fund, stored

EMAIL = "ada@example.com"


def flask_wallet(runner, *args):
    return runner.invoke(args=["wallet", *args])


def as_json(result):
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return json.loads(result.stdout)


def wallets() -> int:
    return db.session.scalar(select(func.count(Wallet.id)))


# -- show ------------------------------------------------------------------------------------


def test_show_balance_held_available_and_latest_entries(runner, shop_credits, user):
    fund(user, 100)
    assert shop_credits.consume(30).status_code == 201
    shop_credits.hold_id(20)

    body = as_json(flask_wallet(runner, "show", "--email", "ADA@example.com", "--json"))

    assert (body["email"], body["sub"]) == (EMAIL, user.sub)
    assert (body["balance"], body["held"], body["available"]) == (70, 20, 50)
    assert [(e["kind"], e["amount"], e["balance_after"]) for e in body["entries"]] == [
        ("hold", 0, 70),
        ("consume", -30, 70),
        ("promo_grant", 100, 100),
    ]
    assert [e["id"] for e in body["entries"]] == [e.id for e in reversed(entries(user))]
    [lot] = body["lots"]  # the grant's, in the draw order
    assert (lot["category"], lot["amount"], lot["remaining"]) == ("promotional", 100, 70)


def test_show_limits_the_entries_newest_first(runner, user):
    for credits in (1, 2, 3):
        fund(user, credits)
    body = as_json(flask_wallet(runner, "show", "--email", EMAIL, "--limit", "2", "--json"))
    assert [e["amount"] for e in body["entries"]] == [3, 2]
    assert body["balance"] == 6


def test_show_as_text_has_a_header_row(runner, user):
    fund(user, 100)
    result = flask_wallet(runner, "show", "--email", EMAIL)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"{EMAIL} ({user.sub})"
    assert [line.split() for line in lines[1:4]] == [
        ["balance", "100"],
        ["held", "0"],
        ["available", "100"],
    ]
    lots_title, lots_header, lot_row = lines[4:7]
    assert lots_title == "lots holding credits, in the order they are drawn:"
    assert lots_header.split() == ["LOT", "CATEGORY", "PRIORITY", "REMAINING", "AMOUNT", "EXPIRES"]
    assert lot_row.split()[1:5] == ["promotional", "0", "100", "100"]
    header, row = lines[8:]
    assert header.split() == [
        "ID",
        "KIND",
        "AMOUNT",
        "HELD",
        "BALANCE",
        "CLIENT",
        "CREATED",
        "REASON",
    ]
    assert row.split()[1:6] == ["promo_grant", "100", "0", "100", "-"]
    assert row.index("promo_grant") == header.index("KIND")


def test_show_never_creates_a_wallet(runner, user):
    before = wallets()
    body = as_json(flask_wallet(runner, "show", "--email", EMAIL, "--json"))
    assert (body["balance"], body["held"], body["available"], body["entries"]) == (0, 0, 0, [])
    assert "no ledger entries" in flask_wallet(runner, "show", "--email", EMAIL).stdout
    assert wallets() == before


@pytest.mark.parametrize(
    ("email", "error"),
    [("nobody@example.com", "not_found"), ("not-an-address", "invalid_email")],
)
def test_show_refuses(runner, user, email, error):
    result = flask_wallet(runner, "show", "--email", email, "--json")
    assert result.exit_code == 1
    assert as_json(result)["error"] == error
    readable = flask_wallet(runner, "show", "--email", email)
    assert readable.exit_code == 1
    assert readable.output.startswith(f"Error: {error}: ")


# -- grant and adjust --json -----------------------------------------------------------------


def test_grant_json(runner, user):
    result = flask_wallet(
        runner, "grant", "--email", EMAIL, "--credits", "50", "--reason", "welcome", "--json"
    )
    assert result.exit_code == 0, result.output
    body = as_json(result)
    [entry] = entries(user)
    assert (body["balance"], body["held"], body["available"]) == (50, 0, 50)
    assert body["entry"]["id"] == entry.id
    assert (body["entry"]["kind"], body["entry"]["amount"], body["entry"]["reason"]) == (
        "promo_grant",
        50,
        "welcome",
    )


def test_adjust_json(runner, shop_credits, user):
    fund(user, 100)
    shop_credits.hold_id(30)
    result = flask_wallet(
        runner, "adjust", "--email", EMAIL, "--amount", "-10", "--reason", "ticket 7", "--json"
    )
    assert result.exit_code == 0, result.output
    body = as_json(result)
    assert (body["balance"], body["held"], body["available"]) == (90, 30, 60)
    assert (body["entry"]["kind"], body["entry"]["amount"]) == ("adjustment", -10)
    assert stored(user) == (90, 30)


@pytest.mark.parametrize(
    ("command", "args", "error"),
    [
        ("grant", ["--credits", "0", "--reason", "x"], "invalid_request"),
        ("grant", ["--credits", "5", "--reason", " "], "invalid_request"),
        ("adjust", ["--amount", "-101", "--reason", "x"], "insufficient_credits"),
        ("adjust", ["--amount", "5", "--reason", ""], "invalid_request"),
    ],
)
def test_grant_and_adjust_json_refusals(runner, user, command, args, error):
    fund(user, 100)
    result = flask_wallet(runner, command, "--email", EMAIL, *args, "--json")
    assert result.exit_code == 1
    body = as_json(result)
    assert body["error"] == error and body["error_description"]
    assert stored(user) == (100, 0)


@pytest.mark.parametrize("command", ["grant", "adjust"])
def test_grant_and_adjust_json_unknown_address(runner, db, command):
    amount = ["--credits", "5"] if command == "grant" else ["--amount", "5"]
    email = "nobody@example.com"
    result = flask_wallet(runner, command, "--email", email, *amount, "--reason", "x", "--json")
    assert result.exit_code == 1
    assert as_json(result) == {
        "error": "not_found",
        "error_description": f"no account has the address {email}",
    }


# -- packages list -----------------------------------------------------------------------------


def test_packages_list_has_a_header_row(runner, db):
    packages.create("starter", "Starter", 100, 500, "usd")
    packages.create("pro", "Pro monthly", 1000, 4000, "usd", "price_1", "month")
    header, *rows = flask_wallet(runner, "packages", "list").stdout.splitlines()
    assert header.split() == ["ID", "CREDITS", "PRICE", "CURRENCY", "INTERVAL", "STATUS"]
    assert sorted(row.split() for row in rows) == [
        ["pro", "1000", "4000", "usd", "month", "active"],
        ["starter", "100", "500", "usd", "one-off", "active"],
    ]
    assert {row.index(row.split()[2], 22) + len(row.split()[2]) for row in rows} == {
        header.index("PRICE") + len("PRICE")
    }
