"""POST /stripe/webhook: signature, exactly-once effects, out-of-order delivery, refunds.

Deliveries are signed here the way Stripe signs them (tests/wallet/stripe_fake.py); the
server verifies them with the stripe library.  After every test the ledger audit
(``flask wallet audit``) must find every wallet equal to the sum of its entries.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from wallet import audit, billing, holds, services
from wallet.models import CONSUME, PURCHASE, REFUND, SUBSCRIPTION_GRANT

from .payment_fixtures import (
    balance,
    checkout_row,
    customer,
    entries,
    events,
    stripe_settings,
    subscription_row,
    wallet_of,
)
from .stripe_fake import WEBHOOK_SECRET, event, signature, signed

# Webhook deduplication is a unique key, a row lock and a savepoint in the transaction
# of the effect: database semantics.
pytestmark = pytest.mark.postgres


@pytest.fixture
def app_settings(fake_stripe):
    return stripe_settings(fake_stripe)


HOOK = "/stripe/webhook"


@pytest.fixture(autouse=True)
def audit_stays_clean(app, runner):
    yield
    result = runner.invoke(args=["wallet", "audit"])
    assert result.exit_code == 0, result.output
    assert audit.reconcile() == []


@pytest.fixture
def bought(user, catalogue):
    """``user`` started a checkout for the 100-credit pack through ``store``."""
    wallet = customer(user)
    billing.record_checkout(
        "cs_test_1", wallet.id, package_id="starter", client_id="store", credits=100, mode="payment"
    )
    return wallet


@pytest.fixture
def subscribed(user, catalogue):
    """``user`` started a checkout for the Pro plan (1000 credits a month)."""
    wallet = customer(user)
    billing.record_checkout(
        "cs_test_sub",
        wallet.id,
        package_id="pro",
        client_id="store",
        credits=1000,
        mode="subscription",
    )
    return wallet


def deliver(http, evt: dict, **sign):
    body, headers = signed(evt, **sign)
    return http.post(HOOK, data=body, headers=headers)


def checkout_session(session_id="cs_test_1", paid=True, **fields) -> dict:
    return {
        "id": session_id,
        "object": "checkout.session",
        "mode": "payment",
        "status": "complete",
        "payment_status": "paid" if paid else "unpaid",
        "customer": "cus_test_ada",
        "payment_intent": "pi_test_1",
        "metadata": {},
        **fields,
    }


def completed(paid=True, **fields) -> dict:
    return event("checkout.session.completed", checkout_session(paid=paid, **fields))


def invoice(invoice_id="in_test_1", reason="subscription_create", **fields) -> dict:
    """A paid plan invoice in the current (2025+) API shape."""
    return {
        "id": invoice_id,
        "object": "invoice",
        "customer": "cus_test_ada",
        "status": "paid",
        "billing_reason": reason,
        "amount_paid": 2000,
        "parent": {
            "type": "subscription_details",
            "subscription_details": {
                "subscription": "sub_test_1",
                "metadata": {"package_id": "pro", "client_id": "store"},
            },
        },
        "lines": {"data": [{"pricing": {"price_details": {"price": "price_pro_monthly"}}}]},
        **fields,
    }


def subscription(status="active", cancel_at_period_end=False, period_end=1_900_000_000) -> dict:
    return {
        "id": "sub_test_1",
        "object": "subscription",
        "customer": "cus_test_ada",
        "status": status,
        "cancel_at_period_end": cancel_at_period_end,
        "metadata": {"package_id": "pro", "client_id": "store"},
        "items": {
            "data": [{"price": {"id": "price_pro_monthly"}, "current_period_end": period_end}]
        },
    }


def charge(refunded: int, amount=1000, payment_intent="pi_test_1") -> dict:
    return {
        "id": "ch_test_1",
        "object": "charge",
        "amount": amount,
        "amount_refunded": refunded,
        "currency": "usd",
        "payment_intent": payment_intent,
        "refunded": refunded == amount,
    }


# -- signatures -------------------------------------------------------------------------


def _tampered(body: str, headers: dict):
    return body.replace("paid", "PAID"), headers


def _no_header(body: str, headers: dict):
    return body, {"Content-Type": "application/json"}


def _too_old(body: str, headers: dict):
    return body, {"Stripe-Signature": signature(body, timestamp=int(time.time()) - 301)}


def _wrong_secret(body: str, headers: dict):
    return body, {"Stripe-Signature": signature(body, secret="whsec_someone_else")}


def _garbage(body: str, headers: dict):
    return body, {"Stripe-Signature": "garbage"}


def _v0_only(body: str, headers: dict):
    return body, {"Stripe-Signature": headers["Stripe-Signature"].replace("v1=", "v0=")}


@pytest.mark.parametrize(
    "spoil", [_no_header, _wrong_secret, _tampered, _too_old, _garbage, _v0_only]
)
def test_bad_signatures_are_refused_without_effect(client, user, bought, spoil):
    body, headers = spoil(*signed(completed()))
    response = client.post(HOOK, data=body, headers=headers)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_signature"
    assert (balance(user), entries(), events()) == (0, [], {})


def test_recent_signature_within_tolerance_is_accepted(client, user, bought):
    response = deliver(client, completed(), timestamp=int(time.time()) - 290)
    assert response.status_code == 200, response.json
    assert balance(user) == 100


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"id": "evt_1"}', b"\xff\xfe"])
def test_signed_garbage_is_a_400(client, user, bought, body):
    text = body.decode("utf-8", errors="replace")
    headers = {"Stripe-Signature": signature(text)}
    response = client.post(HOOK, data=body, headers=headers)
    assert response.status_code == 400
    assert response.json["error"] in ("invalid_request", "invalid_signature")
    assert events() == {}


def test_unknown_event_types_are_acknowledged_and_ignored(client, user, bought):
    response = deliver(client, event("customer.created", {"id": "cus_test_ada"}))
    assert (response.status_code, response.json["outcome"]) == (200, "ignored")
    assert events() == {}


# -- one-off purchases ------------------------------------------------------------------


def test_paid_checkout_grants_once(client, user, bought):
    paid = completed()
    first = deliver(client, paid)
    assert (first.status_code, first.json["outcome"]) == (200, "granted")
    assert balance(user) == 100
    [entry] = entries()
    assert (entry.kind, entry.amount, entry.stripe_ref, entry.client_id, entry.actor) == (
        PURCHASE,
        100,
        "cs_test_1",
        "store",
        "stripe",
    )
    # The same event again (Stripe retried), and another event about the same session.
    again = deliver(client, paid)
    assert (again.status_code, again.json["outcome"]) == (200, "duplicate")
    other = deliver(client, completed())
    assert (other.status_code, other.json["outcome"]) == (200, "already_granted")
    assert balance(user) == 100
    assert len(entries()) == 1
    assert set(events().values()) == {"granted", "already_granted"}
    row = checkout_row("cs_test_1")
    assert (row.status, row.payment_intent_id) == ("complete", "pi_test_1")


def test_unpaid_checkout_waits_for_the_async_payment(client, user, bought):
    assert deliver(client, completed(paid=False)).json["outcome"] == "awaiting_payment"
    assert balance(user) == 0
    assert checkout_row("cs_test_1").status == "pending"
    succeeded = event("checkout.session.async_payment_succeeded", checkout_session())
    assert deliver(client, succeeded).json["outcome"] == "granted"
    assert balance(user) == 100
    # A late duplicate of the unpaid completion neither grants nor moves the status back.
    assert deliver(client, completed(paid=False)).json["outcome"] == "awaiting_payment"
    assert deliver(client, completed()).json["outcome"] == "already_granted"
    assert (balance(user), checkout_row("cs_test_1").status) == (100, "complete")


def test_failed_async_payment_grants_nothing(client, user, bought):
    deliver(client, completed(paid=False))
    failed = event("checkout.session.async_payment_failed", checkout_session(paid=False))
    assert deliver(client, failed).json["outcome"] == "checkout_failed"
    assert (balance(user), checkout_row("cs_test_1").status) == (0, "failed")


def test_no_payment_required_grants_nothing(client, user, bought):
    free = completed(paid=False, payment_status="no_payment_required")
    assert deliver(client, free).json["outcome"] == "awaiting_payment"
    assert balance(user) == 0


def test_checkout_unknown_to_us_is_ignored(client, user, bought):
    stranger = completed(id="cs_test_other", customer="cus_someone_else")
    assert deliver(client, stranger).json["outcome"] == "ignored_unknown_checkout"
    assert balance(user) == 0


def test_lost_checkout_row_is_rebuilt_from_metadata(client, user, catalogue):
    customer(user)
    meta = {"user_sub": user.sub, "client_id": "store", "package_id": "starter", "credits": "100"}
    lost = completed(id="cs_test_lost", metadata=meta)
    assert deliver(client, lost).json["outcome"] == "granted"
    assert balance(user) == 100
    row = checkout_row("cs_test_lost")
    assert (row.package_id, row.client_id, row.credits, row.status) == (
        "starter",
        "store",
        100,
        "complete",
    )


@pytest.mark.postgres
def test_concurrent_deliveries_grant_once(committed_db, app, user, bought):
    """Stripe may deliver the same event, and two events about one session, at once."""
    paid = completed()
    bodies = [signed(paid)] * 3 + [
        signed(event("checkout.session.async_payment_succeeded", checkout_session()))
    ]
    results = []

    def post(body, headers):
        results.append(app.test_client().post(HOOK, data=body, headers=headers))

    threads = [threading.Thread(target=post, args=item) for item in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [200] * 4
    outcomes = sorted(r.json["outcome"] for r in results)
    assert outcomes.count("granted") == 1
    assert set(outcomes) <= {"granted", "duplicate", "already_granted"}
    assert balance(user) == 100
    assert len(entries(PURCHASE)) == 1


def test_crash_before_commit_leaves_nothing_and_the_retry_applies_once(
    client, user, bought, monkeypatch
):
    real_grant = services.grant_within

    def grant_then_crash(*args, **kwargs):
        real_grant(*args, **kwargs)  # credits and event row are in the transaction now
        raise RuntimeError("process died before the commit")

    monkeypatch.setattr(services, "grant_within", grant_then_crash)
    paid = completed()
    crashed = deliver(client, paid)
    assert crashed.status_code == 500
    assert crashed.json["error"] == "server_error"
    assert "died" not in crashed.json["error_description"]
    assert (balance(user), entries(), events()) == (0, [], {})
    assert checkout_row("cs_test_1").status == "open"

    monkeypatch.undo()
    retried = deliver(client, paid)  # Stripe retries the same event
    assert (retried.status_code, retried.json["outcome"]) == (200, "granted")
    assert deliver(client, paid).json["outcome"] == "duplicate"
    assert balance(user) == 100
    assert len(entries()) == 1


# -- subscriptions ----------------------------------------------------------------------


def test_invoice_before_checkout_completion_grants_once(client, user, subscribed):
    paid_invoice = event("invoice.paid", invoice())
    assert deliver(client, paid_invoice).json["outcome"] == "granted"
    assert balance(user) == 1000
    done = completed(
        id="cs_test_sub",
        mode="subscription",
        payment_intent=None,
        subscription="sub_test_1",
        invoice="in_test_1",
    )
    assert deliver(client, done).json["outcome"] == "subscription_recorded"
    assert deliver(client, event("invoice.paid", invoice())).json["outcome"] == "already_granted"
    assert deliver(client, paid_invoice).json["outcome"] == "duplicate"
    assert balance(user) == 1000
    [entry] = entries()
    assert (entry.kind, entry.stripe_ref, entry.client_id) == (
        SUBSCRIPTION_GRANT,
        "in_test_1",
        "store",
    )
    row = subscription_row("sub_test_1")
    assert (row.wallet_id, row.package_id, row.client_id, row.status) == (
        subscribed.id,
        "pro",
        "store",
        "active",
    )
    assert checkout_row("cs_test_sub").invoice_id == "in_test_1"


def test_each_period_grants_the_plan_again(client, user, subscribed):
    deliver(client, event("invoice.paid", invoice("in_test_1")))
    renewal = event("invoice.paid", invoice("in_test_2", reason="subscription_cycle"))
    assert deliver(client, renewal).json["outcome"] == "granted"
    assert balance(user) == 2000


def test_legacy_invoice_shape_is_understood(client, user, subscribed):
    legacy = {
        "id": "in_test_old",
        "object": "invoice",
        "customer": "cus_test_ada",
        "subscription": "sub_test_1",
        "billing_reason": "subscription_cycle",
        "subscription_details": {"metadata": {"package_id": "pro"}},
        "lines": {"data": [{"price": {"id": "price_pro_monthly"}}]},
    }
    assert deliver(client, event("invoice.paid", legacy)).json["outcome"] == "granted"
    assert balance(user) == 1000


def test_billed_price_decides_the_plan(client, user, subscribed, catalogue):
    """After a plan change in the portal the metadata still names the old plan."""
    from wallet import packages

    packages.create("max", "Max", 5000, 8000, "usd", "price_max_monthly", "month")
    changed = invoice(
        "in_test_3",
        reason="subscription_cycle",
        lines={"data": [{"pricing": {"price_details": {"price": "price_max_monthly"}}}]},
    )
    assert deliver(client, event("invoice.paid", changed)).json["outcome"] == "granted"
    assert balance(user) == 5000


@pytest.mark.parametrize("reason", ["subscription_update", "manual"])
def test_proration_and_manual_invoices_grant_nothing(client, user, subscribed, reason):
    outcome = deliver(client, event("invoice.paid", invoice(reason=reason))).json["outcome"]
    assert outcome == "ignored_billing_reason"
    assert balance(user) == 0


def test_invoice_of_an_unknown_customer_is_ignored(client, user, subscribed):
    stranger = invoice(customer="cus_someone_else")
    stranger["parent"]["subscription_details"]["metadata"] = {"package_id": "pro"}
    outcome = deliver(client, event("invoice.paid", stranger)).json["outcome"]
    assert outcome == "ignored_unknown_customer"
    assert balance(user) == 0


def test_older_subscription_update_is_ignored(client, user, subscribed):
    now = int(time.time())
    newer = event(
        "customer.subscription.updated",
        subscription(cancel_at_period_end=True, period_end=1_900_000_000),
        created=now,
    )
    older = event(
        "customer.subscription.updated",
        subscription(status="past_due", period_end=1_800_000_000),
        created=now - 60,
    )
    assert deliver(client, newer).json["outcome"] == "applied"
    assert deliver(client, older).json["outcome"] == "ignored_stale"
    row = subscription_row("sub_test_1")
    assert (row.status, row.cancel_at_period_end, row.last_event_at) == ("active", True, now)
    assert int(row.current_period_end.timestamp()) == 1_900_000_000
    assert row.package_id == "pro"

    deleted = event("customer.subscription.deleted", subscription("canceled"), created=now + 5)
    assert deliver(client, deleted).json["outcome"] == "applied"
    revived = event("customer.subscription.updated", subscription("active"), created=now + 5)
    assert deliver(client, revived).json["outcome"] == "ignored_stale"
    assert subscription_row("sub_test_1").status == "canceled"


def test_subscription_event_before_the_checkout_creates_the_row(client, user, subscribed):
    created = event("customer.subscription.created", subscription("active"), created=1000)
    assert deliver(client, created).json["outcome"] == "applied"
    done = completed(
        id="cs_test_sub", mode="subscription", payment_intent=None, subscription="sub_test_1"
    )
    assert deliver(client, done).json["outcome"] == "subscription_recorded"
    row = subscription_row("sub_test_1")
    assert (row.status, row.last_event_at, row.wallet_id) == ("active", 1000, subscribed.id)


def test_legacy_subscription_period_end(client, user, subscribed):
    legacy = {**subscription(), "current_period_end": 1_700_000_000, "items": {"data": []}}
    assert deliver(client, event("customer.subscription.updated", legacy)).status_code == 200
    assert int(subscription_row("sub_test_1").current_period_end.timestamp()) == 1_700_000_000


# -- refunds ----------------------------------------------------------------------------


def refunded(amount_refunded: int, **kwargs) -> dict:
    return event("charge.refunded", charge(amount_refunded, **kwargs))


def test_refunds_claw_back_in_proportion(client, user, bought):
    deliver(client, completed())
    assert balance(user) == 100
    quarter = refunded(250)
    assert deliver(client, quarter).json["outcome"] == "clawed_back"
    assert balance(user) == 75
    # A second partial refund: cumulative 500 of 1000 -> another 25.
    assert deliver(client, refunded(500)).json["outcome"] == "clawed_back"
    assert balance(user) == 50
    # Retries and late deliveries of older states take nothing more.
    assert deliver(client, quarter).json["outcome"] == "duplicate"
    assert deliver(client, refunded(500)).json["outcome"] == "ignored_already_refunded"
    assert deliver(client, refunded(250)).json["outcome"] == "ignored_already_refunded"
    assert balance(user) == 50
    # The rest.
    assert deliver(client, refunded(1000)).json["outcome"] == "clawed_back"
    assert balance(user) == 0
    refunds = entries(REFUND)
    assert [(e.amount, e.stripe_ref, e.client_id) for e in refunds] == [
        (-25, "ch_test_1:250", "store"),
        (-25, "ch_test_1:500", "store"),
        (-50, "ch_test_1:1000", "store"),
    ]


def test_rounding_never_takes_more_than_the_purchase(client, user, bought):
    deliver(client, completed())
    for cumulative in (333, 666, 999, 1000):
        deliver(client, refunded(cumulative))
    assert balance(user) == 0
    assert sum(e.amount for e in entries(REFUND)) == -100


@pytest.mark.parametrize("spent", [80, 100])
def test_refund_after_credits_were_spent_records_the_shortfall(client, user, bought, spent):
    deliver(client, completed())
    services.consume(user.id, spent, "render", "k1", "store", "user:test")
    assert balance(user) == 100 - spent
    assert deliver(client, refunded(1000)).json["outcome"] == "clawed_back"
    assert balance(user) == 0  # never negative
    [refund] = entries(REFUND)
    assert refund.amount == spent - 100
    assert refund.reason.endswith(f"; {spent} credits already spent")
    assert [e.kind for e in entries()] == [PURCHASE, CONSUME, REFUND]
    # The shortfall is not taken from credits bought later.
    billing.record_checkout(
        "cs_test_2",
        wallet_of(user).id,
        package_id="starter",
        client_id="store",
        credits=100,
        mode="payment",
    )
    deliver(client, completed(id="cs_test_2", payment_intent="pi_test_2"))
    assert deliver(client, refunded(1000)).json["outcome"] == "ignored_already_refunded"
    assert balance(user) == 100


def test_refund_spares_held_credits(client, user, bought):
    deliver(client, completed())
    holds.hold(wallet_of(user), 70, 60, "render", "h1", "store", "user:test")
    deliver(client, refunded(1000))
    wallet = wallet_of(user)
    assert (wallet.balance, wallet.held) == (70, 70)
    assert entries(REFUND)[0].amount == -30


def test_refund_of_an_unknown_payment_is_ignored(client, user, bought):
    deliver(client, completed())
    outcome = deliver(client, refunded(1000, payment_intent="pi_other")).json["outcome"]
    assert outcome == "ignored_unknown_payment"
    assert balance(user) == 100


def test_refund_before_the_purchase_was_granted_takes_nothing(client, user, bought):
    deliver(client, completed(paid=False))  # the payment intent is known, nothing granted
    outcome = deliver(client, refunded(1000)).json["outcome"]
    assert outcome == "ignored_unknown_payment"
    assert balance(user) == 0


def test_event_rows_record_what_happened(client, user, bought):
    paid = completed()
    deliver(client, paid)
    assert events() == {paid["id"]: "granted"}
    body = json.loads(signed(paid)[0])
    assert body["data"]["object"]["id"] == "cs_test_1"


def test_secret_from_settings_is_what_verifies(make_app, user, bought):
    other = make_app(IDP_STRIPE_WEBHOOK_SECRET="whsec_rotated").test_client()
    assert deliver(other, completed()).status_code == 400
    assert deliver(other, completed(), secret="whsec_rotated").status_code == 200
    assert WEBHOOK_SECRET != "whsec_rotated"


# -- credit lots --------------------------------------------------------------------------


def test_a_plans_credits_expire_at_the_end_of_their_period(client, app, user, subscribed):
    from datetime import UTC, datetime, timedelta

    from .lot_actions import last_entry, lot_of

    period = {"start": 1_800_000_000, "end": 1_802_592_000}
    line = {"pricing": {"price_details": {"price": "price_pro_monthly"}}, "period": period}
    paid = invoice(lines={"data": [line]})
    assert deliver(client, event("invoice.paid", paid)).json["outcome"] == "granted"
    lot = lot_of(last_entry(subscribed.id, SUBSCRIPTION_GRANT).id)
    end = datetime.fromtimestamp(period["end"], UTC)
    assert (lot.category, lot.amount, lot.stripe_ref, lot.expires_at) == (
        "paid",
        1000,
        "in_test_1",
        end,
    )
    # With a rollover, the next period's credits last that much longer.
    app.config["IDP_WALLET_SUBSCRIPTION_ROLLOVER_DAYS"] = 7
    renewal = invoice("in_test_2", reason="subscription_cycle", lines={"data": [line]})
    assert deliver(client, event("invoice.paid", renewal)).json["outcome"] == "granted"
    lot = lot_of(last_entry(subscribed.id, SUBSCRIPTION_GRANT).id)
    assert lot.expires_at == end + timedelta(days=7)


def test_a_refund_claws_back_from_its_purchases_lot_first(client, user, bought):
    from wallet.models import PROMO_GRANT

    from .lot_actions import draws_of, last_entry, lot_of, remaining

    services.grant(bought, 50, PROMO_GRANT, "admin:test", reason="welcome")
    deliver(client, completed())
    purchase_lot = lot_of(last_entry(bought.id, PURCHASE).id)
    promo_lot = lot_of(last_entry(bought.id, PROMO_GRANT).id)
    # The draw order would take the promotion first; the refund takes its own lot.
    assert deliver(client, refunded(500)).json["outcome"] == "clawed_back"
    assert draws_of(last_entry(bought.id, REFUND).id) == [(purchase_lot.id, 50)]
    assert remaining(purchase_lot, promo_lot) == [50, 50]
    # Spend from the purchase too (after the promotion), then refund the rest: what its
    # lot no longer holds comes from the others, in the draw order.
    assert services.consume(user.id, 70, "render", "k-1", None, "user")[0].amount == -70
    assert remaining(purchase_lot, promo_lot) == [30, 0]
    assert deliver(client, refunded(1000)).json["outcome"] == "clawed_back"
    assert draws_of(last_entry(bought.id, REFUND).id) == [(purchase_lot.id, 30)]
    assert balance(user) == 0
