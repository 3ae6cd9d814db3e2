"""Credit lots: the draw order, expiry (with a controllable clock), what the API shows of
them, operator grants and the audit of lots against entries."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from idp.core.extensions import db
from wallet import audit, ledger, lots
from wallet.models import ADJUSTMENT, PURCHASE, Lot

from .actions import entries, stored
from .lot_actions import Clock, draws_of, grant, last_entry, remaining

pytestmark = pytest.mark.postgres


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def wallet(user):
    return ledger.wallet_for(user.id)


def test_a_spend_across_lots_draws_in_the_documented_order(shop_credits, wallet, clock):
    never_paid = grant(wallet, 10, kind=PURCHASE)
    later_promo = grant(wallet, 10, days=30)
    soon_paid = grant(wallet, 10, days=10, kind=PURCHASE)
    soon_promo = grant(wallet, 10, days=10)
    last_priority = grant(wallet, 10, priority=1)
    never_promo = grant(wallet, 10)
    response = shop_credits.consume(55)
    assert response.status_code == 201, response.json
    # Priority, then the soonest expiry (never last), then promotional before paid, then
    # the oldest: the lower priority number is drawn first whatever its expiry.
    order = [soon_promo, soon_paid, later_promo, never_promo, never_paid, last_priority]
    drawn = [(lot.id, 10) for lot in order[:5]] + [(last_priority.id, 5)]
    assert draws_of(response.json["transaction"]["id"]) == drawn
    assert response.json["transaction"]["lots"] == [
        {"lot_id": lot_id, "amount": -n} for lot_id, n in drawn
    ]
    assert remaining(*order) == [0, 0, 0, 0, 0, 5]
    assert audit.reconcile() == []


def test_the_short_path_takes_the_head_lot_when_it_covers_the_spend(
    shop_credits, wallet, clock, user
):
    paid = grant(wallet, 100, kind=PURCHASE)
    promo = grant(wallet, 20, days=5)
    first = shop_credits.consume(15)
    assert first.json["transaction"]["lots"] == [{"lot_id": promo.id, "amount": -15}]
    # The head lot no longer covers 10: the full path draws across the two.
    second = shop_credits.consume(10)
    assert second.status_code == 201
    assert draws_of(second.json["transaction"]["id"]) == [(promo.id, 5), (paid.id, 5)]
    assert remaining(promo, paid) == [0, 95]
    assert stored(user) == (95, 0)
    assert audit.reconcile() == []


def test_the_balance_shows_its_categories_and_the_next_expiry(shop_credits, wallet, clock):
    grant(wallet, 100, kind=PURCHASE)
    grant(wallet, 30, days=10)
    grant(wallet, 20, days=10)
    grant(wallet, 5, days=40)
    response = shop_credits.get("/credits")
    assert response.status_code == 200
    body = response.json
    assert (body["balance"], body["by_category"]) == (155, {"paid": 100, "promotional": 55})
    expected_at = (clock.now + lots.timedelta(days=10)).isoformat()
    assert body["next_expiry"] == {"amount": 50, "expires_at": expected_at}


def test_no_expiry_when_no_lot_expires(shop_credits, wallet):
    grant(wallet, 100, kind=PURCHASE)
    assert shop_credits.get("/credits").json["next_expiry"] is None


def test_transactions_name_their_lots(shop_credits, wallet, clock):
    promo = grant(wallet, 20, days=5)
    paid = grant(wallet, 50, kind=PURCHASE)
    shop_credits.consume(30)
    listed = shop_credits.transactions().json["transactions"]
    assert [(t["kind"], t["lots"]) for t in listed] == [
        ("consume", [{"lot_id": promo.id, "amount": -20}, {"lot_id": paid.id, "amount": -10}]),
        ("purchase", [{"lot_id": paid.id, "amount": 50}]),
        ("promo_grant", [{"lot_id": promo.id, "amount": 20}]),
    ]


def test_expired_credits_leave_the_balance_on_the_next_read(shop_credits, wallet, clock):
    paid = grant(wallet, 100, kind=PURCHASE)
    promo = grant(wallet, 40, days=3)
    shop_credits.consume(15)  # from the promotion: it expires first
    clock.advance(days=3)
    state = shop_credits.state()
    assert state == {"balance": 100, "held": 0, "available": 100}
    expiry = last_entry(wallet.id, "expire")
    assert (expiry.amount, expiry.actor, expiry.balance_after) == (-25, "system:expiry", 100)
    assert draws_of(expiry.id) == [(promo.id, 25)]
    assert remaining(promo, paid) == [0, 100]
    assert shop_credits.get("/credits").json["next_expiry"] is None
    assert audit.reconcile() == []


def test_a_consume_after_an_expiry_expires_first_then_draws(shop_credits, wallet, clock, user):
    grant(wallet, 10, days=1)
    clock.advance(days=2)
    # The short path declines the wallet (its lots_expire_at has passed); the full path
    # expires the lot, then finds too few credits.
    response = shop_credits.consume(5)
    assert response.status_code == 402
    assert [e.kind for e in entries(user)] == ["promo_grant", "expire"]
    assert stored(user) == (0, 0)


def test_an_expiring_lot_is_not_drawn_once_expired_and_the_rest_still_is(
    shop_credits, wallet, clock, user
):
    paid = grant(wallet, 50, kind=PURCHASE)
    grant(wallet, 50, days=1)
    clock.advance(days=1, seconds=1)
    response = shop_credits.consume(30)
    assert response.status_code == 201, response.json
    assert response.json["transaction"]["lots"] == [{"lot_id": paid.id, "amount": -30}]
    assert (response.json["balance"], response.json["available"]) == (20, 20)
    assert [e.kind for e in entries(user)] == [
        "purchase",
        "promo_grant",
        "expire",
        "consume",
    ]


def test_held_credits_of_an_expired_lot_wait_for_the_hold(shop_credits, wallet, clock):
    """Expiry leaves a wallet's held credits in the expired lots (a capture draws those
    first); what the hold gives back expires at the next read."""
    promo = grant(wallet, 60, days=1)
    hold_id = shop_credits.hold_id(40, ttl=7 * 86400)
    clock.advance(days=2)
    assert shop_credits.state() == {"balance": 40, "held": 40, "available": 0}
    assert remaining(promo) == [40]
    paid = grant(wallet, 30, kind=PURCHASE)
    assert shop_credits.capture(hold_id, 25).status_code == 200
    capture = last_entry(wallet.id, "capture")
    assert draws_of(capture.id) == [(promo.id, 25)]
    # The 15 released of the hold were an expired lot's: gone at the read.
    assert shop_credits.state() == {"balance": 30, "held": 0, "available": 30}
    assert remaining(promo, paid) == [0, 30]
    assert audit.reconcile() == []


def test_the_expire_job_expires_every_wallet_that_is_due(runner, wallet, clock, make_wallet, user):
    grant(wallet, 10, days=1)
    other = make_wallet("bea@example.com")
    grant(other, 7, days=2)
    grant(other, 3)
    clock.advance(days=1, hours=1)
    result = runner.invoke(args=["wallet", "expire", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"expired_credits": 10}
    clock.advance(days=1)
    result = runner.invoke(args=["wallet", "expire"])
    assert "expired 7 credits" in result.output
    db.session.expire_all()
    assert (db.session.get(type(other), other.id).balance, stored(user)) == (3, (0, 0))
    assert audit.reconcile() == []


@pytest.fixture
def make_wallet(db):
    from tests.helpers import make_user

    return lambda email: ledger.wallet_for(make_user(email=email).id)


def test_an_operator_grant_chooses_expiry_and_priority(runner, wallet, clock, user):
    args = ["wallet", "grant", "--email", user.email, "--reason", "launch", "--json"]
    kept = runner.invoke(args=[*args, "--credits", "10", "--expires-in-days", "0"])
    default = runner.invoke(args=[*args, "--credits", "20"])
    first = runner.invoke(args=[*args, "--credits", "5", "--priority", "-1"])
    assert [r.exit_code for r in (kept, default, first)] == [0, 0, 0], kept.output
    found = db.session.scalars(sa.select(Lot).order_by(Lot.id)).all()
    assert [(lot.amount, lot.category, lot.priority) for lot in found] == [
        (10, "promotional", 0),
        (20, "promotional", 0),
        (5, "promotional", -1),
    ]
    assert found[0].expires_at is None
    assert found[1].expires_at == clock.now + lots.timedelta(days=365)  # the default setting
    entry = json.loads(default.output)["entry"]
    assert entry["lots"] == [{"lot_id": found[1].id, "amount": 20}]


def test_a_positive_adjustment_opens_a_promotional_lot_that_never_expires(wallet, clock):
    from wallet import services

    entry = services.adjust(wallet, 12, "goodwill", "admin:test")
    lot = db.session.scalar(sa.select(Lot).where(Lot.entry_id == entry.id))
    assert (lot.category, lot.amount, lot.expires_at) == ("promotional", 12, None)
    assert lot.category == lots.CATEGORY[ADJUSTMENT]
    down = services.adjust(wallet, -5, "correction", "admin:test")
    assert draws_of(down.id) == [(lot.id, 5)]


def test_the_audit_reports_a_lot_that_disagrees_with_its_draws(runner, shop_credits, wallet):
    lot = grant(wallet, 50)
    shop_credits.consume(20)
    assert audit.reconcile() == []
    db.session.execute(
        sa.text("UPDATE credit_lots SET remaining = 31 WHERE id = :id"), {"id": lot.id}
    )
    db.session.commit()
    result = runner.invoke(args=["wallet", "audit", "--json"])
    assert result.exit_code == 1
    problems = json.loads(result.output)["problems"]
    assert {
        "lot_id": lot.id,
        "wallet_id": wallet.id,
        "remaining": 31,
        "amount_less_draws": 30,
        "entry_amount": 50,
    } in problems
    assert {"wallet_id": wallet.id, "balance": 30, "in_lots": 31} in problems


def test_draws_are_append_only(shop_credits, wallet):
    grant(wallet, 50)
    shop_credits.consume(20)
    with pytest.raises(sa.exc.DatabaseError):
        db.session.execute(sa.text("UPDATE credit_lot_draws SET amount = 1"))
        db.session.flush()
    db.session.rollback()
    with pytest.raises(sa.exc.DatabaseError):
        db.session.execute(sa.text("DELETE FROM credit_lot_draws"))
    db.session.rollback()
