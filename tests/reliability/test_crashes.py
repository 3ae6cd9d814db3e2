"""A crash between a write and its commit leaves no partial effect, and the retry
applies it exactly once: a consume (its UPDATE and ledger INSERT done, the COMMIT not)
and a Stripe webhook (the event received and applied, not committed).

The crash is real: just before the COMMIT, the request's own PostgreSQL backend is
terminated (``pg_terminate_backend``), so the server loses the transaction as it would
if PostgreSQL or the connection died there.  The caller is answered 503 and retries with
the same idempotency key (or, for Stripe, the same event)."""

from __future__ import annotations

import contextlib
import secrets

import pytest
import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy.orm import Session

from reliability.stripe_events import checkout_completed, delivery
from tests.helpers import bearer

from .conftest import API, WEBHOOK_SECRET

pytestmark = pytest.mark.postgres


@contextlib.contextmanager
def crash_before_commit(path: str):
    """The first commit of a request to ``path`` whose transaction has written anything
    loses its database connection instead (once); yields the list of crashes."""
    crashes: list[str] = []

    def crash(session):
        if crashes or not has_request_context() or request.path != path:
            return
        connection = session.connection()
        written = connection.exec_driver_sql("SELECT pg_current_xact_id_if_assigned()").scalar()
        if written is None:
            return  # a read-only transaction: not the one to interrupt
        crashes.append(request.path)
        connection.exec_driver_sql("SELECT pg_terminate_backend(pg_backend_pid())")

    sa.event.listen(Session, "before_commit", crash)
    try:
        yield crashes
    finally:
        sa.event.remove(Session, "before_commit", crash)


def _balance(stack) -> int:
    response = stack.client().get(f"{API}/credits", headers=bearer(stack.token))
    assert response.status_code == 200, response.data
    return response.get_json()["balance"]


def _consume(stack, key: str, amount: int = 7):
    body = {"amount": amount, "service": "render", "idempotency_key": key}
    return stack.client().post(f"{API}/credits/consume", json=body, headers=bearer(stack.token))


def test_a_consume_lost_before_its_commit_applies_once_on_retry(stack):
    before = _balance(stack)
    key = "crash-" + secrets.token_hex(8)
    with crash_before_commit(f"{API}/credits/consume") as crashes:
        lost = _consume(stack, key)
    assert crashes, "the consume never reached its commit"
    assert lost.status_code == 503, lost.data
    assert lost.headers["Retry-After"].isdigit()
    assert _balance(stack) == before  # nothing of it was kept
    stack.audit()

    first = _consume(stack, key)
    assert first.status_code == 201, first.data  # applied now, not a replay of the lost one
    again = _consume(stack, key)
    assert again.status_code == 200 and again.get_json()["replayed"] is True
    assert again.get_json()["transaction"]["id"] == first.get_json()["transaction"]["id"]
    assert _balance(stack) == before - 7
    stack.audit()


def _checkout(stack, credits: int) -> str:
    response = stack.client().post(
        f"{API}/credits/purchase", json={"amount": credits}, headers=bearer(stack.buyer_token)
    )
    assert response.status_code == 201, response.data
    return response.get_json()["id"]


def _deliver(stack, event: dict):
    body, headers = delivery(event, WEBHOOK_SECRET)
    return stack.client().post("/stripe/webhook", data=body, headers=headers)


def test_a_webhook_lost_before_its_commit_applies_once_when_stripe_retries(stack):
    before = _balance(stack)
    event = checkout_completed("evt_crash_" + secrets.token_hex(8), _checkout(stack, 250), 250)
    with crash_before_commit("/stripe/webhook") as crashes:
        lost = _deliver(stack, event)
    assert crashes, "the webhook never reached its commit"
    assert lost.status_code == 503, lost.data  # not 2xx: Stripe delivers it again
    assert _balance(stack) == before
    stack.audit()

    assert _deliver(stack, event).status_code == 200
    assert _balance(stack) == before + 250
    assert _deliver(stack, event).status_code == 200  # a duplicate: no effect
    assert _balance(stack) == before + 250
    stack.audit()
