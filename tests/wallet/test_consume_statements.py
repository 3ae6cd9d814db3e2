"""What one consume costs the database (issue 15): one pool checkout, one transaction, the
caller's lookup and the ledger write as one statement each (the write is four on SQLite,
which has no UPDATE inside a WITH), and nothing read after the commit: the answer is built
from what the write returned.  Real commits (``committed_db``), so the engine's own
transaction events are what a server sees."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from idp.core.extensions import db
from wallet.models import Lot, Wallet

from .actions import backdate, entries, fund

pytestmark = pytest.mark.postgres

# Statements as "<first word> <tables in order of appearance>".
ENTER_PG = (
    "WITH wallets,credit_holds,credit_lots,moved,ledger_entries,head,credit_lot_draws,entered"
)
ENTER_SQLITE = [
    "UPDATE wallets,credit_holds",
    "UPDATE credit_lots",
    "INSERT ledger_entries",
    "INSERT credit_lot_draws",
]


def label(statement: str) -> str:
    tables = re.findall(r"\b(?:FROM|JOIN|UPDATE|INTO)\s+(\w+)", statement)
    return statement.split()[0] + " " + ",".join(dict.fromkeys(tables))


@contextmanager
def recorded():
    """Yields the list of what the engine does while the block runs: pool checkouts,
    transaction boundaries and each statement's :func:`label`."""
    engine, seen = db.engine, []
    hooks = {
        "before_cursor_execute": lambda conn, cursor, statement, *rest: seen.append(
            label(statement)
        ),
        "begin": lambda conn: seen.append("begin"),
        "commit": lambda conn: seen.append("commit"),
        "rollback": lambda conn: seen.append("rollback"),
    }
    for name, hook in hooks.items():
        event.listen(engine, name, hook)
    checkout = lambda *args: seen.append("checkout")  # noqa: E731
    event.listen(engine.pool, "checkout", checkout)
    try:
        yield seen
    finally:
        for name, hook in hooks.items():
            event.remove(engine, name, hook)
        event.remove(engine.pool, "checkout", checkout)


def expected(backend: str, kind: str) -> list[str]:
    # A user's token names its user, looked up once at verification; an app acting for
    # a user names them in ``user``: that user and their consent to the app in one query.
    lookup = ["SELECT users"] if kind == "user" else ["SELECT users,consents"]
    if backend == "sqlite":  # the tests run SQLite without Redis: the deny-list is a table
        return ["checkout", "begin", "SELECT revoked_tokens", *lookup, *ENTER_SQLITE, "commit"]
    return ["checkout", "begin", *lookup, ENTER_PG, "commit"]


CALLERS = {"user": "shop_credits", "app": "blog_credits"}


@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize("holding", [0, 40], ids=["no-hold", "active-hold"])
def test_a_consume_is_one_checkout_one_transaction_and_no_read_after_it(
    committed_db, request, backend, user, kind, holding
):
    caller = request.getfixturevalue(CALLERS[kind])
    fund(user, 100)
    if holding:
        caller.hold_id(holding)  # an unexpired hold does not leave the short path
    assert caller.consume(1).status_code == 201  # warm: the app's client, keys, deny-list
    with recorded() as seen:
        response = caller.consume(10)
    assert response.status_code == 201, response.json
    assert seen == expected(backend.name, kind)
    assert seen[-1] == "commit"  # nothing is read back: the answer came from RETURNING
    body = response.json
    assert (body["balance"], body["held"], body["available"]) == (89, holding, 89 - holding)
    [*_, entry] = entries(user, "consume")
    [lot_id] = db.session.scalars(select(Lot.id).join(Wallet).where(Wallet.user_id == user.id))
    assert body["transaction"] == {
        "id": entry.id,
        "kind": "consume",
        "amount": -10,
        "held_delta": 0,
        "balance_after": 89,
        "available_after": 89 - holding,
        "client_id": entry.client_id,
        "service": "render",
        "hold_id": None,
        "reason": None,
        "lots": [{"lot_id": lot_id, "amount": -10}],  # the one lot fund() opened
        "created_at": entry.created_at.isoformat(),
    }


def test_an_expired_hold_is_released_before_the_consume_is_written(
    committed_db, blog_credits, user
):
    """The short path declines a wallet with a hold past its expiry; the full path releases
    it first, so the ledger reads as before: the expiry, then the consume."""
    fund(user, 100)
    backdate(blog_credits.hold_id(80))
    response = blog_credits.consume(50)
    assert response.status_code == 201, response.json
    assert (response.json["balance"], response.json["held"]) == (50, 0)
    kinds = [(e.kind, e.balance_after, e.held_after) for e in entries(user)]
    assert kinds == [
        ("promo_grant", 100, 0),
        ("hold", 100, 80),
        ("expire", 100, 0),
        ("consume", 50, 0),
    ]


def test_a_replay_and_a_refusal_take_the_full_path(committed_db, blog_credits, user):
    """A reused key and too few credits leave nothing behind on the short path: the
    replay is answered from the original entry, the refusal with the balance."""
    fund(user, 30)
    first = blog_credits.consume(30, key="k1")
    again = blog_credits.consume(30, key="k1")
    short = blog_credits.consume(1)
    assert (first.status_code, again.status_code, short.status_code) == (201, 200, 402)
    assert again.json["transaction"] == first.json["transaction"]
    assert (again.json["balance"], again.json["replayed"]) == (0, True)
    assert (short.json["balance"], short.json["available"]) == (0, 0)
    assert [e.kind for e in entries(user)] == ["promo_grant", "consume"]
