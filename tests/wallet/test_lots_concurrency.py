"""Concurrent spending across lots on PostgreSQL: the credits drawn equal the credits
spent, no lot goes below zero, every entry's draws add up, and the audit is clean.  The
lots are small, so many consumes find their head lot short (or emptied by another
thread meanwhile) and draw across several on the full path, while others take the short
path's one statement."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from idp.core.extensions import db
from wallet import audit, ledger
from wallet.models import PURCHASE, LedgerEntry, Lot, LotDraw

from .actions import API, entries, stored
from .lot_actions import grant
from .test_concurrency import concurrently, consume

on_postgres = pytest.mark.postgres(only=True)


def funded_lots(user) -> list[Lot]:
    """1,000 credits in 14 lots of mixed size, category and expiry."""
    wallet = ledger.wallet_for(user.id)
    found = []
    for i, credits in enumerate([7, 13, 29, 50, 61, 90, 100, 100, 40, 33, 77, 200, 150, 50]):
        kind = PURCHASE if i % 3 == 0 else "promo_grant"
        days = None if i % 4 == 0 else 10 + i
        found.append(grant(wallet, credits, days=days, kind=kind, priority=i % 2))
    return found


def assert_lots_match(user, spent: int) -> None:
    db.session.expire_all()
    wallet = ledger.wallet_for(user.id)
    lots = db.session.scalars(select(Lot).where(Lot.wallet_id == wallet.id)).all()
    assert all(lot.remaining >= 0 for lot in lots)
    assert sum(lot.amount - lot.remaining for lot in lots) == spent
    drawn = db.session.scalar(select(func.sum(LotDraw.amount)))
    assert int(drawn) == spent
    assert sum(lot.remaining for lot in lots) == wallet.balance
    for entry in entries(user, "consume"):
        taken = select(func.sum(LotDraw.amount)).where(LotDraw.entry_id == entry.id)
        assert db.session.scalar(taken) == -entry.amount
    assert audit.reconcile() == []


@on_postgres
def test_fifty_concurrent_consumes_draw_exactly_what_they_spend(
    committed_db, app, shop_credits, user
):
    funded_lots(user)
    responses = concurrently(app, 50, consume(shop_credits.token, 23, "lot-{i}"))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 43, 402: 7}  # 43 * 23 = 989 of 1,000
    assert stored(user) == (11, 0)
    spent = -sum(e.amount for e in entries(user, "consume"))
    assert spent == 989
    assert_lots_match(user, spent)
    # Each answer names the lots its entry drew from, adding up to what it spent.
    for response in responses:
        if response.status_code == 201:
            named = response.json["transaction"]["lots"]
            assert sum(-item["amount"] for item in named) == 23


@on_postgres
def test_concurrent_consumes_and_captures_across_lots(committed_db, app, shop_credits, user):
    funded_lots(user)
    holds = [shop_credits.hold_id(40, ttl=600) for _ in range(5)]
    token = shop_credits.token

    def request(http, i):
        headers = {"Authorization": f"Bearer {token}"}
        if i < len(holds):
            return http.post(
                API + f"/credits/holds/{holds[i]}/capture", json={"amount": 35}, headers=headers
            )
        body = {"amount": 17, "service": "render", "idempotency_key": f"mixed-{i}"}
        return http.post(API + "/credits/consume", json=body, headers=headers)

    responses = concurrently(app, 45, request)
    assert all(r.status_code in (200, 201, 402) for r in responses)
    assert Counter(r.status_code for r in responses)[200] == 5  # every capture
    spent = -int(
        db.session.scalar(
            select(func.sum(LedgerEntry.amount)).where(LedgerEntry.kind.in_(("consume", "capture")))
        )
    )
    assert_lots_match(user, spent)
