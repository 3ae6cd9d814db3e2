"""Migration 0008 builds lots from an existing ledger without loss: on a database of its
own, a wallet's history (purchases, a promotional grant, a plan's grant, consumes, a hold
captured and one released, a refund) is written, the lots are dropped by migrating down to
0007 (the ledger as the previous deploy left it), and migrating up rebuilds them: paid lots
for purchases and plan grants with their Stripe references, a promotional lot for the
grant, consumption drawn in the documented order, and a refund arriving afterwards takes
back from its own purchase's lot.  Then what the previous deploy writes during a rollout
(entries without lots) is caught up by ``flask wallet catch-up-lots``."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from idp import create_app
from idp.core.extensions import db
from tests.helpers import make_user
from wallet import audit, holds, ledger, services
from wallet.models import PROMO_GRANT, Lot, Wallet

from .lot_actions import draws_of, last_entry, purchase, refund, subscription_grant

# The history tests run on PostgreSQL only: migrating down past 0009 rebuilds SQLite's
# wallets table (Alembic's batch mode), which the foreign keys referring to it refuse.
on_postgres = pytest.mark.postgres(only=True)


@pytest.fixture
def fresh(backend):
    """An app on an empty PostgreSQL database of its own, migrated to the newest revision."""
    server = sa.engine.make_url(backend.url)
    name = f"{server.database}_lots_migration"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    app = create_app({**backend.settings, "DATABASE_URL": url})
    try:
        with app.app_context():
            upgrade()
            yield app
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def history():
    """A wallet's history through the wallet's own code; returns the wallet's id."""
    user = make_user(email="old@example.com")
    wallet = ledger.wallet_for(user.id)
    purchase(wallet, 100, "cs_1", "pi_1")
    services.grant(wallet, 50, PROMO_GRANT, "admin:cli", reason="welcome")
    subscription_grant(wallet, 200, "in_1")
    services.consume(user.id, 120, "render", "k1", "shop", "client:shop")
    captured = holds.hold(wallet, 30, 600, "render", "h1", "shop", "client:shop")[0]
    holds.capture(captured, 20, "client:shop")
    released = holds.hold(wallet, 10, 600, "render", "h2", "shop", "client:shop")[0]
    holds.release(released, "client:shop")
    purchase(wallet, 40, "cs_2", "pi_2")
    assert refund("pi_2", "ch_2", 1000, 500) == "clawed_back"  # 20 of its 40 credits
    return wallet.id


def lots_by_ref(wallet_id: int) -> dict:
    db.session.expire_all()
    found = db.session.scalars(sa.select(Lot).where(Lot.wallet_id == wallet_id).order_by(Lot.id))
    return {lot.stripe_ref or "promo": lot for lot in found}


@on_postgres
def test_the_migration_rebuilds_lots_from_the_ledger(fresh):
    wallet_id = history()
    balance = db.session.get(Wallet, wallet_id).balance
    assert balance == 100 + 50 + 200 - 120 - 20 + 40 - 20
    db.session.commit()
    downgrade(revision="0007")
    tables = sa.inspect(db.engine).get_table_names()
    assert "credit_lots" not in tables and "credit_lot_draws" not in tables
    upgrade()
    found = lots_by_ref(wallet_id)
    assert set(found) == {"cs_1", "promo", "in_1", "cs_2"}
    assert [(lot.category, lot.amount, lot.expires_at) for lot in found.values()] == [
        ("paid", 100, None),
        ("promotional", 50, None),
        ("paid", 200, None),
        ("paid", 40, None),
    ]
    # The consume of 120: the promotion first (promotional before paid), then the oldest
    # paid lot; the capture of 20 from it too; the refund in the same order (which
    # purchase a refund before the migration refunded is not recorded in the ledger).
    consume = last_entry(wallet_id, "consume")
    assert draws_of(consume.id) == [(found["promo"].id, 50), (found["cs_1"].id, 70)]
    capture = last_entry(wallet_id, "capture")
    assert draws_of(capture.id) == [(found["cs_1"].id, 20)]
    old_refund = last_entry(wallet_id, "refund")
    assert draws_of(old_refund.id) == [(found["cs_1"].id, 10), (found["in_1"].id, 10)]
    remaining = {ref: lot.remaining for ref, lot in found.items()}
    assert remaining == {"cs_1": 0, "promo": 0, "in_1": 190, "cs_2": 40}
    assert sum(remaining.values()) == balance
    assert audit.reconcile() == []

    # A refund after the migration, of a purchase made before it, takes from its own lot.
    assert refund("pi_2", "ch_2", 1000, 1000) == "clawed_back"
    later = last_entry(wallet_id, "refund")
    assert (later.amount, draws_of(later.id)) == (-20, [(found["cs_2"].id, 20)])
    assert audit.reconcile() == []


@on_postgres
def test_what_the_previous_deploy_writes_is_caught_up(fresh):
    """After the migration the old code still serves for a while: its entries have no
    lots or draws.  The audit names them; ``flask wallet catch-up-lots`` gives them
    theirs."""
    wallet_id = history()
    db.session.commit()
    # As the previous deploy writes: the wallet row and an entry, nothing else.
    for kind, amount in (("promo_grant", 30), ("consume", -45)):
        db.session.execute(
            sa.text("UPDATE wallets SET balance = balance + :a WHERE id = :w"),
            {"a": amount, "w": wallet_id},
        )
        db.session.execute(
            sa.text(
                "INSERT INTO ledger_entries (wallet_id, kind, amount, held_delta, "
                "balance_after, held_after, actor, created_at) SELECT id, :k, :a, 0, "
                "balance, held, 'old', '2026-12-01 18:00:00' FROM wallets WHERE id = :w"
            ),
            {"k": kind, "a": amount, "w": wallet_id},
        )
    db.session.commit()
    untracked = [p for p in audit.reconcile() if "entries_without_lots" in p]
    assert untracked and untracked[0]["count"] == 2
    result = fresh.test_cli_runner().invoke(args=["wallet", "catch-up-lots", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"caught_up_entries": 2}
    assert audit.reconcile() == []
    old_grant = last_entry(wallet_id, "promo_grant")
    lot = db.session.scalar(sa.select(Lot).where(Lot.entry_id == old_grant.id))
    assert (lot.amount, lot.category, lot.expires_at) == (30, "promotional", None)


# -- the replay alone, on both backends ----------------------------------------------------

# (kind, amount, held_delta, stripe_ref) of one wallet's ledger as the previous deploy
# wrote it; the expected draws follow the documented order (no expiries, one priority:
# promotional before paid, then the oldest).
LEDGER = [
    ("purchase", 100, 0, "cs_1"),
    ("promo_grant", 30, 0, None),
    ("consume", -40, 0, None),  # promo 30, then cs_1 10
    ("subscription_grant", 50, 0, "in_1"),
    ("hold", 0, 20, None),
    ("capture", -15, -20, None),  # cs_1 15
    ("adjustment", 5, 0, None),  # a promotional lot
    ("refund", -80, 0, "ch_1:1000"),  # the adjustment's 5, cs_1 75
]


@pytest.fixture
def at_0007(tmp_path, backend):
    """An app on an empty database of its own (the test's backend), migrated to 0007."""
    if backend.name == "sqlite":
        with migrated_app(backend, f"sqlite:///{tmp_path / 'old.sqlite3'}", "0007") as app:
            yield app
        return
    server = sa.engine.make_url(backend.url)
    name = f"{server.database}_lots_replay"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        url = server.set(database=name).render_as_string(hide_password=False)
        with migrated_app(backend, url, "0007") as app:
            yield app
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def migrated_app(backend, url: str, revision: str):
    app = create_app({**backend.settings, "DATABASE_URL": url})
    with app.app_context():
        upgrade(revision=revision)
        yield app
        db.session.remove()
        db.engine.dispose()


def old_ledger() -> int:
    """LEDGER in raw SQL, as the previous deploy's tables hold it; returns the wallet id."""
    now = "2026-11-30 12:00:00"
    run = db.session.execute
    run(
        sa.text(
            "INSERT INTO users (sub, email, email_verified, password_hash, display_name, "
            "user_type, disabled, created_at, password_changed_at) VALUES ('s1', "
            "'old@example.com', true, 'x', 'Old', 'customer', false, :t, :t)"
        ),
        {"t": now},
    )
    run(
        sa.text(
            "INSERT INTO wallets (user_id, balance, held, created_at, updated_at) "
            "SELECT id, 0, 0, :t, :t FROM users"
        ),
        {"t": now},
    )
    wallet_id = db.session.scalar(sa.text("SELECT id FROM wallets"))
    balance = held = 0
    for kind, amount, held_delta, ref in LEDGER:
        balance, held = balance + amount, held + held_delta
        run(
            sa.text(
                "INSERT INTO ledger_entries (wallet_id, kind, amount, held_delta, "
                "balance_after, held_after, stripe_ref, actor, created_at) VALUES (:w, :k, "
                ":a, :h, :b, :ha, :r, 'old', :t)"
            ),
            {
                "w": wallet_id,
                "k": kind,
                "a": amount,
                "h": held_delta,
                "b": balance,
                "ha": held,
                "r": ref,
                "t": now,
            },
        )
    run(
        sa.text("UPDATE wallets SET balance = :b, held = :h WHERE id = :w"),
        {"b": balance, "h": held, "w": wallet_id},
    )
    db.session.commit()
    return wallet_id


def replayed() -> tuple[dict, list]:
    lots = db.session.execute(
        sa.text(
            "SELECT l.id, e.kind, l.category, l.amount, l.remaining, l.stripe_ref, "
            "l.expires_at FROM credit_lots l JOIN ledger_entries e ON e.id = l.entry_id "
            "ORDER BY l.id"
        )
    ).all()
    draws = db.session.execute(
        sa.text(
            "SELECT e.kind, d.lot_id, d.amount FROM credit_lot_draws d "
            "JOIN ledger_entries e ON e.id = d.entry_id ORDER BY d.id"
        )
    ).all()
    return {row.kind: row for row in lots}, [tuple(row) for row in draws]


@pytest.mark.postgres
def test_the_replay_gives_every_entry_its_lot_or_draws(at_0007):
    old_ledger()  # committed
    upgrade(revision="0008")
    lots, draws = replayed()
    assert {
        kind: (row.category, row.amount, row.remaining, row.stripe_ref, row.expires_at)
        for kind, row in lots.items()
    } == {
        "purchase": ("paid", 100, 0, "cs_1", None),
        "promo_grant": ("promotional", 30, 0, None, None),
        "subscription_grant": ("paid", 50, 50, "in_1", None),
        "adjustment": ("promotional", 5, 0, None, None),
    }
    paid, promo, adj = lots["purchase"].id, lots["promo_grant"].id, lots["adjustment"].id
    assert draws == [
        ("consume", promo, 30),
        ("consume", paid, 10),
        ("capture", paid, 15),
        ("refund", adj, 5),
        ("refund", paid, 75),
    ]
    # Down again leaves the previous deploy's schema (the ledger untouched); up again
    # rebuilds the same.  (The session's reads end first: DDL waits for their locks.)
    db.session.rollback()
    downgrade(revision="0007")
    columns = [c["name"] for c in sa.inspect(db.engine).get_columns("wallets")]
    assert "lots_expire_at" not in columns
    assert db.session.scalar(sa.text("SELECT count(*) FROM ledger_entries")) == len(LEDGER)
    db.session.rollback()
    upgrade(revision="0008")
    again, drawn_again = replayed()
    assert [row.amount for row in again.values()] == [row.amount for row in lots.values()]
    assert len(drawn_again) == len(draws)
