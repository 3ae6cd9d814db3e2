"""Concurrent spending: the conditional UPDATE never overdraws, the unique index never
double-spends.  Each thread has its own test client, so its own app context, session
and database connection (so the tests commit for real: ``committed_db``); a barrier
releases them together.  Row locking at scale is PostgreSQL's; SQLite, with one writer
at a time, is checked at a smaller scale."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from idp.core.extensions import db
from wallet import audit
from wallet.models import LedgerEntry

from .actions import API, entries, fund, stored


def concurrently(app, count: int, request) -> list:
    """Run ``request(http, i)`` on ``count`` threads at once; returns the responses."""
    barrier = threading.Barrier(count, timeout=30)

    def worker(i: int):
        http = app.test_client()
        barrier.wait()
        return request(http, i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(worker, range(count)))


def consume(token: str, amount: int, key: str):
    def request(http, i):
        body = {"amount": amount, "service": "render", "idempotency_key": key.format(i=i)}
        return http.post(
            API + "/credits/consume", json=body, headers={"Authorization": f"Bearer {token}"}
        )

    return request


on_postgres = pytest.mark.postgres(only=True)


def assert_overdraw_refused(app, shop_credits, user, threads, funds, amount):
    fund(user, funds)
    responses = concurrently(app, threads, consume(shop_credits.token, amount, "k-{i}"))
    statuses = Counter(r.status_code for r in responses)
    succeeded = funds // amount
    assert statuses == {201: succeeded, 402: threads - succeeded}
    assert {r.json["error"] for r in responses if r.status_code == 402} == {"insufficient_credits"}
    assert all(r.json["balance"] >= 0 for r in responses)
    assert stored(user) == (funds - succeeded * amount, 0)
    consumed = entries(user, "consume")
    assert len(consumed) == succeeded
    assert min(e.balance_after for e in consumed) == funds % amount
    assert sorted(e.balance_after for e in consumed) == [
        funds % amount + amount * n for n in range(succeeded)
    ]
    assert audit.reconcile() == []


def assert_single_spend(app, shop_credits, user, threads):
    fund(user, 1000)
    responses = concurrently(app, threads, consume(shop_credits.token, 30, "same-key"))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 200: threads - 1}
    assert {r.json["transaction"]["id"] for r in responses} == {entries(user, "consume")[0].id}
    assert all(r.json["replayed"] for r in responses if r.status_code == 200)
    count = select(func.count()).where(LedgerEntry.idempotency_key == "same-key")
    assert db.session.scalar(count) == 1
    assert stored(user) == (970, 0)
    assert audit.reconcile() == []


@on_postgres
def test_concurrent_consumes_never_overdraw(committed_db, app, shop_credits, user):
    """Balance 1000, 50 consumes of 30: exactly 33 succeed and 10 credits remain."""
    assert_overdraw_refused(app, shop_credits, user, threads=50, funds=1000, amount=30)


@on_postgres
def test_concurrent_retries_spend_once(committed_db, app, shop_credits, user):
    assert_single_spend(app, shop_credits, user, threads=20)


@on_postgres
def test_concurrent_holds_and_consumes_never_overdraw(committed_db, app, shop_credits, user):
    """Holds and consumes compete for the same available credits."""
    fund(user, 1000)
    token = shop_credits.token

    def request(http, i):
        path = "/credits/holds" if i % 2 else "/credits/consume"
        body = {"amount": 30, "service": "render", "idempotency_key": f"k-{i}"}
        return http.post(API + path, json=body, headers={"Authorization": f"Bearer {token}"})

    responses = concurrently(app, 40, request)
    assert Counter(r.status_code for r in responses) == {201: 33, 402: 7}
    balance, held = stored(user)
    consumed = len(entries(user, "consume"))
    assert (balance, held) == (1000 - 30 * consumed, 30 * len(entries(user, "hold")))
    assert balance - held == 10
    assert audit.reconcile() == []


def test_sqlite_serialises_concurrent_consumes(committed_db, app, shop_credits, user):
    """SQLite has one writer at a time: the same rules hold, at a smaller scale."""
    assert_overdraw_refused(app, shop_credits, user, threads=10, funds=100, amount=30)


def test_sqlite_concurrent_retries_spend_once(committed_db, app, shop_credits, user):
    assert_single_spend(app, shop_credits, user, threads=8)
