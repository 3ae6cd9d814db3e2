"""The ledger: append-only in the database, audited, corrected only by new entries, and
shown to apps page by page with other apps' details withheld."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from tests.helpers import make_user
from wallet import audit, ledger, services
from wallet.models import PROMO_GRANT, PURCHASE

from .actions import backdate, entries, fund, stored

EMAIL = "ada@example.com"
# PostgreSQL's SUM(bigint) is numeric: audit.reconcile() puts Decimals in its report and
# `flask wallet audit` crashes in json.dumps (TypeError) instead of printing a mismatch.


# The append-only guard is a trigger of each database, and the audit's sums come back as
# different types: all of it depends on the backend.
pytestmark = pytest.mark.postgres


def flask_wallet(runner, *args):
    return runner.invoke(args=["wallet", *args])


# -- append-only ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET amount = amount + 1",
        "UPDATE ledger_entries SET reason = 'edited' WHERE kind = 'promo_grant'",
        "UPDATE ledger_entries SET balance_after = 0, held_after = 0",
        "DELETE FROM ledger_entries",
        "DELETE FROM ledger_entries WHERE kind = 'consume'",
    ],
)
def test_entries_cannot_be_updated_or_deleted(db, shop_credits, user, statement):
    fund(user, 100)
    assert shop_credits.consume(30).status_code == 201
    before = [(e.id, e.amount, e.balance_after, e.reason) for e in entries(user)]
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(sa.text(statement))
    assert [(e.id, e.amount, e.balance_after, e.reason) for e in entries(user)] == before
    assert len(before) == 2


# -- audit ---------------------------------------------------------------------------------


@pytest.fixture
def history(runner, shop_credits, blog_credits, user):
    """A mix of every kind of change, on two wallets."""
    fund(user, 1000)
    assert shop_credits.consume(30).status_code == 201
    assert blog_credits.consume(20).status_code == 201
    captured, released = shop_credits.hold_id(40), shop_credits.hold_id(20)
    assert shop_credits.capture(captured, 25).status_code == 200
    assert shop_credits.release(released).status_code == 200
    expired = blog_credits.hold_id(10)
    backdate(expired)
    shop_credits.hold_id(15)  # stays active
    assert flask_wallet(runner, "expire-holds").exit_code == 0
    wallet = ledger.wallet_for(user.id)
    for _ in range(2):  # a Stripe retry grants once
        services.grant(wallet, 500, PURCHASE, "stripe", stripe_ref="cs_test_1")
    assert shop_credits.consume(5, key="retry").status_code == 201
    assert shop_credits.consume(5, key="retry").status_code == 200
    assert (
        flask_wallet(
            runner, "adjust", "--email", EMAIL, "--amount", "-7", "--reason", "r"
        ).exit_code
        == 0
    )
    bob = make_user("bob@example.com", name="Bob")
    fund(bob, 50)
    services.adjust(ledger.wallet_for(bob.id), 3, "goodwill", "admin:test")
    # 1000 - 30 - 20 - 25 + 500 - 5 - 7 = 1413; 15 held
    assert stored(user) == (1413, 15)
    return {"bob": bob}


def test_audit_is_clean_after_a_mix_of_operations(runner, history):
    assert audit.reconcile() == []
    result = flask_wallet(runner, "audit")
    assert result.exit_code == 0, result.output
    assert "every wallet matches its ledger" in result.output
    as_json = flask_wallet(runner, "audit", "--json")
    assert as_json.exit_code == 0
    assert json.loads(as_json.output) == {"problems": []}


@pytest.mark.parametrize(
    ("tamper", "stored_after"),
    [
        ("UPDATE wallets SET balance = balance + 5 WHERE id = :wallet", [1418, 15]),
        ("UPDATE wallets SET balance = balance - 1 WHERE id = :wallet", [1412, 15]),
        ("UPDATE wallets SET held = held + 1 WHERE id = :wallet", [1413, 16]),
        ("UPDATE credit_holds SET status = 'released' WHERE wallet_id = :wallet", [1413, 15]),
    ],
    ids=["balance-up", "balance-down", "held", "hold-row"],
)
def test_audit_reports_a_tampered_wallet(db, runner, history, user, tamper, stored_after):
    wallet_id = ledger.wallet_for(user.id).id
    db.session.execute(sa.text(tamper), {"wallet": wallet_id})
    db.session.commit()
    result = flask_wallet(runner, "audit", "--json")
    assert result.exit_code == 1, result.exception
    # The wallet's own row against its ledger (a changed balance also leaves its lots).
    [problem] = [p for p in json.loads(result.output)["problems"] if "stored" in p]
    assert problem["wallet_id"] == wallet_id
    assert problem["stored"] == stored_after
    assert problem["from_ledger"] == [1413, 15]
    readable = flask_wallet(runner, "audit")
    assert readable.exit_code == 1
    assert readable.output.startswith("MISMATCH ")


# -- grant and adjust ----------------------------------------------------------------------


def test_grant_writes_an_entry(runner, user):
    result = flask_wallet(
        runner, "grant", "--email", "ADA@example.com", "--credits", "50", "--reason", "welcome"
    )
    assert result.exit_code == 0, result.output
    assert "granted 50 credits; balance 50" in result.output
    [entry] = entries(user)
    assert (entry.kind, entry.amount, entry.reason, entry.actor) == (
        PROMO_GRANT,
        50,
        "welcome",
        "admin:cli",
    )
    again = flask_wallet(
        runner, "grant", "--email", EMAIL, "--credits", "5", "--reason", "x", "--actor", "admin:eve"
    )
    assert again.exit_code == 0
    assert entries(user)[-1].actor == "admin:eve"
    assert stored(user) == (55, 0)


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["--credits", "50"], 2, "Missing option '--reason'"),
        (["--reason", "x"], 2, "Missing option '--credits'"),
        (["--credits", "0", "--reason", "x"], 1, "invalid_request"),
        (["--credits", "-5", "--reason", "x"], 1, "invalid_request"),
        (["--credits", "ten", "--reason", "x"], 2, "not a valid integer"),
        pytest.param(
            ["--credits", "50", "--reason", ""],
            1,
            "reason",
            id="blank-reason",
        ),
        pytest.param(
            ["--credits", "50", "--reason", "   "],
            1,
            "reason",
            id="spaces-reason",
        ),
    ],
)
def test_grant_refuses(runner, user, args, exit_code, message):
    result = flask_wallet(runner, "grant", "--email", EMAIL, *args)
    assert result.exit_code == exit_code, result.output
    assert message in result.output
    assert entries(user) == []


def test_grant_to_an_unknown_address_fails(runner, user):
    result = flask_wallet(
        runner, "grant", "--email", "nobody@example.com", "--credits", "5", "--reason", "x"
    )
    assert result.exit_code == 1
    assert "no account has the address" in result.output


@pytest.mark.parametrize(("amount", "balance"), [(10, 110), (-10, 90), (-100, 0)])
def test_adjust_writes_an_entry(runner, user, amount, balance):
    fund(user, 100)
    result = flask_wallet(
        runner, "adjust", "--email", EMAIL, "--amount", str(amount), "--reason", " ticket 42 "
    )
    assert result.exit_code == 0, result.output
    assert f"adjusted by {amount}; balance {balance}" in result.output
    entry = entries(user)[-1]
    assert (entry.kind, entry.amount, entry.reason, entry.actor) == (
        "adjustment",
        amount,
        "ticket 42",
        "admin:cli",
    )
    assert stored(user) == (balance, 0)
    assert audit.reconcile() == []


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["--amount", "5"], 2, "Missing option '--reason'"),
        (["--amount", "5", "--reason", ""], 1, "a reason is required"),
        (["--amount", "5", "--reason", "   "], 1, "a reason is required"),
        (["--amount", "-101", "--reason", "x"], 1, "insufficient_credits"),
    ],
    ids=["no-reason", "empty-reason", "blank-reason", "below-zero"],
)
def test_adjust_refuses(runner, user, args, exit_code, message):
    fund(user, 100)
    result = flask_wallet(runner, "adjust", "--email", EMAIL, *args)
    assert result.exit_code == exit_code, result.output
    assert message in result.output
    assert stored(user) == (100, 0)
    assert [e.kind for e in entries(user)] == [PROMO_GRANT]


def test_adjust_cannot_go_below_held(runner, shop_credits, user):
    fund(user, 100)
    shop_credits.hold_id(80)
    refused = flask_wallet(runner, "adjust", "--email", EMAIL, "--amount", "-21", "--reason", "x")
    assert refused.exit_code == 1
    assert "insufficient_credits" in refused.output
    assert stored(user) == (100, 80)
    allowed = flask_wallet(runner, "adjust", "--email", EMAIL, "--amount", "-20", "--reason", "x")
    assert allowed.exit_code == 0, allowed.output
    assert stored(user) == (80, 80)


# -- transactions --------------------------------------------------------------------------


def test_transactions_are_paginated_newest_first(shop_credits, user):
    fund(user, 100)
    for amount in range(1, 6):
        assert shop_credits.consume(amount).status_code == 201
    expected = [e.id for e in reversed(entries(user))]
    seen, pages, before = [], 0, None
    while True:
        params = {"limit": 2} if before is None else {"limit": 2, "before": before}
        response = shop_credits.transactions(**params)
        assert response.status_code == 200
        pages += 1
        page = [t["id"] for t in response.json["transactions"]]
        assert len(page) <= 2
        seen += page
        before = response.json["next_before"]
        if before is None:
            break
        assert before == page[-1]
        assert pages < 10
    assert seen == expected
    assert len(expected) == 6
    whole = shop_credits.transactions().json
    assert [t["id"] for t in whole["transactions"]] == expected
    assert whole["next_before"] is None
    assert [t["amount"] for t in whole["transactions"]] == [-5, -4, -3, -2, -1, 100]
    assert whole["transactions"][0]["balance_after"] == 85


@pytest.mark.parametrize(
    "params",
    [{"limit": "ten"}, {"before": "x"}, {"limit": "1.5"}, {"before": ""}],
    ids=["limit-word", "before-word", "limit-float", "before-empty"],
)
def test_invalid_paging_is_400(shop_credits, user, params):
    response = shop_credits.transactions(**params)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"


def test_filter_by_own_client_id(shop_credits, blog_credits, user):
    fund(user, 100)
    shop_credits.consume(1)
    blog_credits.consume(2)
    shop_credits.consume(3)
    response = shop_credits.transactions(client_id="shop")
    assert response.status_code == 200
    assert [t["amount"] for t in response.json["transactions"]] == [-3, -1]
    assert {t["client_id"] for t in response.json["transactions"]} == {"shop"}
    theirs = blog_credits.transactions(client_id="blog")
    assert [t["amount"] for t in theirs.json["transactions"]] == [-2]


@pytest.mark.parametrize("client_id", ["blog", "nobody"])
def test_filter_by_another_client_id_is_400(shop_credits, blog_credits, user, client_id):
    response = shop_credits.transactions(client_id=client_id)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert response.json["field"] == "client_id"


def test_other_apps_entries_are_shown_without_their_details(shop_credits, blog_credits, user):
    fund(user, 100)
    shop_credits.consume(1, service="shop-render")
    blog_credits.consume(2, service="blog-render")
    shop_hold = shop_credits.hold_id(10)
    blog_hold = blog_credits.hold_id(20)

    def listing(caller) -> dict:
        response = caller.transactions()
        assert response.status_code == 200
        return {(t["kind"], t["amount"], t["held_delta"]): t for t in response.json["transactions"]}

    shop_view, blog_view = listing(shop_credits), listing(blog_credits)
    assert set(shop_view) == set(blog_view)  # both see every entry of the wallet
    own = shop_view[("consume", -1, 0)]
    assert (own["client_id"], own["service"]) == ("shop", "shop-render")
    assert shop_view[("hold", 0, 10)]["hold_id"] == shop_hold
    for key in (("consume", -2, 0), ("hold", 0, 20)):
        other = shop_view[key]
        assert (other["client_id"], other["service"], other["hold_id"], other["reason"]) == (
            None,
            None,
            None,
            None,
        )
    assert blog_view[("consume", -2, 0)]["service"] == "blog-render"
    assert blog_view[("hold", 0, 20)]["hold_id"] == blog_hold
    assert blog_view[("consume", -1, 0)]["client_id"] is None
    assert blog_view[("consume", -1, 0)]["service"] is None
