"""Auto top-up against the Stripe-shaped server, through the real ``stripe`` library: the
off-session PaymentIntent on the customer's default payment method (made the default
from the saved card), keyed by the crossing; the credits by ``payment_intent.succeeded``;
a declined card counted, an outage retried; the checkout saving the card; receipts with
Stripe's receipt link."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.core.extensions import db
from idp.core.outbox import OutboxMessage
from tests.helpers import Browser, csrf_of
from wallet import billing, ledger, preferences
from wallet.models import PURCHASE

from .actions import entries, fund, stored
from .payment_fixtures import customer, stripe_settings
from .stripe_fake import event, receipt_of, signed
from .test_autotopup import attempts, auto_topup, body, prefs

pytestmark = pytest.mark.postgres
HOOK = "/stripe/webhook"
CUSTOMER = "cus_test_ada"


@pytest.fixture
def app_settings(fake_stripe):
    return stripe_settings(fake_stripe)


def deliver(http, evt: dict):
    payload, headers = signed(evt)
    return http.post(HOOK, data=payload, headers=headers)


def paid(intent: dict) -> dict:
    return event("payment_intent.succeeded", {**intent, "status": "succeeded"})


def test_a_crossing_charges_the_saved_card_off_session(
    client, shop_credits, user, catalogue, fake_stripe, mailbox
):
    customer(user, CUSTOMER)
    card = fake_stripe.save_card(CUSTOMER)
    fund(user, 100)
    auto_topup(user, below=50)
    assert shop_credits.consume(60).status_code == 201
    [attempt] = attempts(user)
    assert attempt.status == "pending" and attempt.payment_intent_id.startswith("pi_test_")
    [made_default] = [r for r in fake_stripe.requests if r.method == "POST" and "cus_" in r.path]
    assert made_default.params == {"invoice_settings[default_payment_method]": card}
    [created] = fake_stripe.calls("/v1/payment_intents")
    assert created.headers["Idempotency-Key"] == attempt.crossing
    assert {k: created.params[k] for k in ("amount", "currency", "customer", "payment_method")} == {
        "amount": "1000",
        "currency": "usd",
        "customer": CUSTOMER,
        "payment_method": card,
    }
    assert (created.params["off_session"], created.params["confirm"]) == ("true", "true")
    assert created.params["metadata[auto_topup]"] == attempt.crossing
    assert stored(user) == (40, 0)  # the credits come with Stripe's event

    intent = fake_stripe.intents[attempt.crossing]
    assert deliver(client, paid(intent)).json["outcome"] == "granted"
    assert deliver(client, paid(intent)).json["outcome"] == "already_granted"  # another event
    assert stored(user) == (140, 0)
    [bought] = entries(user, PURCHASE)
    assert bought.stripe_ref == intent["id"]
    assert attempts(user)[0].status == "succeeded"
    [receipt] = mailbox.messages
    assert receipt_of(intent["latest_charge"]) in body(receipt)


def test_the_default_payment_method_is_used_as_it_is(shop_credits, user, catalogue, fake_stripe):
    customer(user, CUSTOMER)
    fake_stripe.save_card(CUSTOMER)
    fake_stripe.defaults[CUSTOMER] = "pm_test_default"
    fund(user, 100)
    auto_topup(user, below=50)
    assert shop_credits.consume(60).status_code == 201
    [created] = fake_stripe.calls("/v1/payment_intents")
    assert created.params["payment_method"] == "pm_test_default"
    assert not [r for r in fake_stripe.requests if r.method == "POST" and "cus_" in r.path]


def cross(shop_credits, user) -> None:
    fund(user, 100 - stored(user)[0])
    assert shop_credits.consume(60).status_code == 201


def test_declined_three_times_switches_it_off(shop_credits, user, catalogue, fake_stripe, mailbox):
    customer(user, CUSTOMER)
    fake_stripe.save_card(CUSTOMER)
    fake_stripe.fail_with(path="/v1/payment_intents")  # card_declined, 402
    fund(user, 40)
    auto_topup(user, below=50, monthly=10)
    for _ in range(3):
        cross(shop_credits, user)
    assert [a.failure for a in attempts(user)] == ["card_declined"] * 3
    assert prefs(user).topup_enabled is False
    assert [m["Subject"] for m in mailbox.messages] == ["Auto top-up is switched off"]
    assert entries(user, PURCHASE) == []


def test_a_late_failure_event_counts_once(client, shop_credits, user, catalogue, fake_stripe):
    customer(user, CUSTOMER)
    fake_stripe.save_card(CUSTOMER)
    fund(user, 100)
    auto_topup(user, below=50)
    assert shop_credits.consume(60).status_code == 201
    intent = fake_stripe.intents[attempts(user)[0].crossing]
    failed = {**intent, "status": "requires_payment_method"}
    failed["last_payment_error"] = {"code": "expired_card"}
    for _ in range(2):
        assert deliver(client, event("payment_intent.payment_failed", failed)).status_code == 200
    assert (attempts(user)[0].status, attempts(user)[0].failure) == ("failed", "expired_card")
    assert prefs(user).topup_failures == 1


def test_an_outage_is_retried_not_counted(shop_credits, user, catalogue, fake_stripe):
    customer(user, CUSTOMER)
    fake_stripe.save_card(CUSTOMER)
    fake_stripe.fail_with(status=500, type="api_error", code="api_error")
    fund(user, 100)
    auto_topup(user, below=50)
    assert shop_credits.consume(60).status_code == 201  # the consume does not wait for it
    [attempt] = attempts(user)
    assert attempt.status == "pending" and prefs(user).topup_failures == 0
    db.session.expire_all()
    job = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "wallet_topup"))
    assert job.next_attempt_at is not None and job.last_error == "PaymentProviderError"


def test_other_payment_intents_are_not_ours(client, user, fake_stripe):
    intent = {"id": "pi_test_checkout", "object": "payment_intent", "metadata": {}}
    assert deliver(client, paid(intent)).json["outcome"] == "ignored_not_auto_topup"
    failed = event("payment_intent.payment_failed", intent)
    assert deliver(client, failed).json["outcome"] == "ignored_not_auto_topup"


def buy(http, **form):
    page = http.get("/purchase")
    return http.post("/purchase", data={"csrf_token": csrf_of(page.data), **form})


def test_with_auto_topup_on_a_checkout_saves_the_card(client, user, catalogue, fake_stripe):
    assert Browser(client).login().status_code == 302
    assert buy(client, package_id="bundle").status_code == 303
    [plain] = fake_stripe.calls("/v1/checkout/sessions")
    assert "payment_intent_data[setup_future_usage]" not in plain.params
    auto_topup(user, below=50)
    assert buy(client, package_id="bundle").status_code == 303
    saving = fake_stripe.calls("/v1/checkout/sessions")[1]
    assert saving.params["payment_intent_data[setup_future_usage]"] == "off_session"


def test_a_checkout_purchase_receipt_links_stripes_receipt(client, user, catalogue, mailbox):
    wallet = customer(user, CUSTOMER)
    billing.record_checkout(
        "cs_test_r1", wallet.id, package_id="starter", client_id=None, credits=100, mode="payment"
    )
    session = {
        "id": "cs_test_r1",
        "object": "checkout.session",
        "mode": "payment",
        "payment_status": "paid",
        "customer": CUSTOMER,
        "payment_intent": "pi_test_r1",
        "metadata": {},
    }
    assert deliver(client, event("checkout.session.completed", session)).status_code == 200
    [receipt] = mailbox.messages
    assert receipt["Subject"] == "Your receipt for 100 credits"
    assert receipt_of("ch_test_test_r1") in body(receipt)


def test_a_plan_grant_receipt_links_the_invoice(user, catalogue, mailbox, app):
    from wallet import services

    wallet = customer(user, CUSTOMER)
    services.grant(wallet, 1000, "subscription_grant", "stripe", stripe_ref="in_test_9")
    from idp.core import outbox

    outbox.drain()
    [receipt] = mailbox.messages
    assert "https://invoice.stripe.com/i/in_test_9" in body(receipt)
    assert "Your plan's credits for this period were added." in body(receipt)
    assert ledger.wallet_for(user.id).balance == 1000
    assert preferences.of(wallet.id) is None


def test_stripes_event_before_the_job_recorded_the_payment(
    client, make_app, shop_credits, user, catalogue, fake_stripe
):
    """The event names the crossing: the attempt succeeds, and the job, run late, does
    not charge again."""
    from .actions import Credits

    customer(user, CUSTOMER)
    fake_stripe.save_card(CUSTOMER)
    fund(user, 100)
    auto_topup(user, below=50)
    node = make_app(IDP_OUTBOX_DELIVERY="cli")  # the job waits
    assert Credits(node.test_client(), shop_credits.token).consume(60).status_code == 201
    [attempt] = attempts(user)
    metadata = {"auto_topup": attempt.crossing, "credits": "100", "package_id": "starter"}
    early = {"id": "pi_test_early", "object": "payment_intent", "customer": CUSTOMER}
    assert deliver(client, paid({**early, "metadata": metadata})).json["outcome"] == "granted"
    assert (attempts(user)[0].status, attempts(user)[0].payment_intent_id) == (
        "succeeded",
        "pi_test_early",
    )
    db.session.expire_all()
    job = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "wallet_topup"))
    assert job.sent_at is not None  # run by the outbox after the webhook's request
    assert fake_stripe.calls("/v1/payment_intents") == []  # and it charged nothing
    assert stored(user) == (140, 0)
