"""Auto top-up through the simulated payment mode: one purchase per downward crossing of
the threshold (also under concurrent consumes), the monthly maximum, three failures in a
row switching it off with a mail; purchase receipts and the low-balance mail, received
by the tests' SMTP server."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from idp.core import outbox
from idp.core.extensions import db
from idp.core.outbox import OutboxMessage
from wallet import autotopup, billing, ledger, preferences
from wallet.models import PURCHASE
from wallet.preference_models import TopUpAttempt, WalletPreferences

from .actions import entries, fund, stored
from .test_concurrency import concurrently, consume, on_postgres

pytestmark = pytest.mark.postgres


@pytest.fixture
def app_settings():
    return {
        "IDP_PAYMENTS": "simulated",
        "IDP_STRIPE_SECRET_KEY": None,
        "IDP_STRIPE_WEBHOOK_SECRET": None,  # generated for development
        "IDP_STRIPE_API_BASE": None,
    }


def saved_card(user) -> None:
    """A simulated customer, as the wallet's first simulated checkout makes one."""
    billing.set_customer(ledger.wallet_for(user.id), billing.SIMULATED_CUSTOMER_PREFIX + "ada")


def auto_topup(user, below=50, package="starter", monthly=3) -> None:
    wallet = ledger.wallet_for(user.id)
    preferences.set_auto_topup(
        wallet.id, enabled=True, below=below, package_id=package, monthly_max=monthly
    )


def attempts(user) -> list[TopUpAttempt]:
    db.session.expire_all()
    wallet = ledger.wallet_for(user.id)
    query = select(TopUpAttempt).where(TopUpAttempt.wallet_id == wallet.id)
    return list(db.session.scalars(query.order_by(TopUpAttempt.id)))


def prefs(user) -> WalletPreferences:
    db.session.expire_all()
    return preferences.of(ledger.wallet_for(user.id).id)


def subjects(mailbox) -> list[str]:
    return [m["Subject"] for m in mailbox.messages]


def body(message) -> str:
    return message.get_payload(decode=True).decode()


def test_a_crossing_buys_the_pack_once(shop_credits, user, catalogue, mailbox):
    saved_card(user)
    fund(user, 100)
    auto_topup(user, below=50)
    assert shop_credits.consume(30).status_code == 201  # 70: above the threshold
    assert attempts(user) == []
    assert shop_credits.consume(30).status_code == 201  # 40: crossed
    assert stored(user) == (140, 0)
    [bought] = entries(user, PURCHASE)
    assert bought.amount == 100 and bought.stripe_ref.startswith("pi_sim_")
    [attempt] = attempts(user)
    assert (attempt.status, attempt.payment_intent_id) == ("succeeded", bought.stripe_ref)
    assert billing.checkout(bought.stripe_ref).status == "complete"
    assert shop_credits.consume(10).status_code == 201  # still above: no new crossing
    assert len(attempts(user)) == 1
    [receipt] = mailbox.messages
    assert receipt["Subject"] == "Your receipt for 100 credits"
    assert receipt["To"] == user.email
    assert "https://idp.test/account#wallet" in body(receipt)  # the simulated stand-in
    assert bought.stripe_ref in body(receipt)


def test_the_monthly_maximum(shop_credits, user, catalogue):
    saved_card(user)
    fund(user, 100)
    auto_topup(user, below=50, monthly=2)
    for _ in range(3):
        assert shop_credits.consume(100 if stored(user)[0] > 100 else 60).status_code == 201
    assert len(attempts(user)) == 2
    assert len(entries(user, PURCHASE)) == 2
    assert prefs(user).topup_month_count == 2
    assert stored(user)[0] < 50  # the third crossing bought nothing


def cross(shop_credits, user) -> None:
    """Take the wallet from 100 available to 40 (a crossing of 50)."""
    fund(user, 100 - stored(user)[0] + stored(user)[1])
    assert shop_credits.consume(60).status_code == 201


def test_three_failures_in_a_row_switch_it_off(shop_credits, user, catalogue, mailbox):
    fund(user, 40)
    auto_topup(user, below=50, monthly=10)  # no saved card: every attempt fails
    for _ in range(2):
        cross(shop_credits, user)
    assert [a.failure for a in attempts(user)] == ["no_saved_card"] * 2
    assert prefs(user).topup_enabled and mailbox.messages == []
    cross(shop_credits, user)
    assert len(attempts(user)) == 3 and prefs(user).topup_enabled is False
    assert prefs(user).topup_failures == 3
    [notice] = mailbox.messages
    assert notice["Subject"] == "Auto top-up is switched off"
    assert "https://idp.test/account#wallet" in body(notice)
    cross(shop_credits, user)  # switched off: no fourth attempt
    assert len(attempts(user)) == 3
    assert entries(user, PURCHASE) == []


def test_a_success_ends_the_run_of_failures(shop_credits, user, catalogue):
    fund(user, 40)
    auto_topup(user, below=50, monthly=10)
    cross(shop_credits, user)
    cross(shop_credits, user)
    saved_card(user)
    cross(shop_credits, user)
    assert [a.status for a in attempts(user)] == ["failed", "failed", "succeeded"]
    assert prefs(user).topup_failures == 0 and prefs(user).topup_enabled


def test_turning_it_off(shop_credits, user, catalogue):
    saved_card(user)
    fund(user, 100)
    auto_topup(user)
    wallet = ledger.wallet_for(user.id)
    preferences.set_auto_topup(wallet.id, enabled=False, below=None, package_id=None, monthly_max=3)
    assert shop_credits.consume(60).status_code == 201
    assert attempts(user) == []


def test_the_low_balance_mail_once_per_crossing(shop_credits, user, mailbox):
    fund(user, 100)
    preferences.set_low_balance(ledger.wallet_for(user.id).id, 50)
    assert shop_credits.consume(40).status_code == 201
    assert mailbox.messages == []
    assert shop_credits.consume(20).status_code == 201
    assert shop_credits.consume(5).status_code == 201  # still below: no second mail
    [low] = mailbox.messages
    assert low["Subject"] == "Your credits are running low"
    assert "You have 40 credits available, fewer than the 50" in body(low)
    cross(shop_credits, user)  # back above, then below again
    assert subjects(mailbox) == ["Your credits are running low"] * 2


def test_no_low_balance_mail_unless_asked(shop_credits, user, mailbox):
    fund(user, 100)
    assert shop_credits.consume(90).status_code == 201
    assert mailbox.messages == []


@on_postgres
def test_concurrent_consumes_cross_once(make_app, committed_db, shop_credits, user, catalogue):
    """20 consumes at once take the wallet from 300 to 100 across the threshold of 250:
    one crossing, one attempt, one job; the job run twice pays once."""
    saved_card(user)
    fund(user, 300)
    auto_topup(user, below=250, monthly=5)
    node = make_app(IDP_OUTBOX_DELIVERY="cli")  # the jobs wait for the drains below
    responses = concurrently(node, 20, consume(shop_credits.token, 10, "cross-{i}"))
    assert Counter(r.status_code for r in responses) == {201: 20}
    [attempt] = attempts(user)
    assert attempt.status == "pending"
    jobs = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "wallet_topup"))
    [job] = list(jobs)
    autotopup.deliver(job)
    autotopup.deliver(job)  # a retried job (the outbox delivers at least once)
    outbox.drain()
    [bought] = entries(user, PURCHASE)
    assert stored(user) == (300 - 200 + 100, 0)
    assert bought.stripe_ref == attempts(user)[0].payment_intent_id
    assert attempts(user)[0].status == "succeeded"


def test_deleting_the_account_switches_everything_off(shop_credits, user, catalogue, mailbox):
    from wallet import account

    saved_card(user)
    fund(user, 100)
    auto_topup(user, below=500)
    preferences.set_low_balance(ledger.wallet_for(user.id).id, 500)
    account.forfeit(user, "test")
    assert stored(user) == (0, 0)
    assert attempts(user) == [] and mailbox.messages == []  # no top-up, no mail
    assert not prefs(user).topup_enabled and prefs(user).low_balance_below is None
    assert not ledger.wallet_for(user.id).watched


def test_the_purchase_page_leads_to_the_settings(client, user, catalogue):
    from tests.helpers import Browser

    assert Browser(client).login().status_code == 302
    page = client.get("/purchase")
    assert b'id="auto-topup-link"' in page.data and b"/account/wallet#" in page.data
    assert b"Never run out of credits" in page.data
    auto_topup(user)
    assert b"Auto top-up is on." in client.get("/purchase").data
