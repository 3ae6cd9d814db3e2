"""Deleting an account ends its plan at Stripe first (no deleted account keeps being
charged); when Stripe cannot cancel it, nothing is deleted and the page says why."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.core.db_types import utcnow
from idp.core.extensions import db
from idp.users.deletion import consequences, is_deleted
from idp.users.models import User
from tests.helpers import PASSWORD, Browser, csrf_of
from tests.pages.html import alerts
from wallet import ledger
from wallet.models import Subscription

from .payment_fixtures import stripe_settings


@pytest.fixture
def app_settings(fake_stripe):
    return stripe_settings(fake_stripe)


@pytest.fixture
def subscribed(db, user):
    wallet = ledger.wallet_for(user.id)
    db.session.add(
        Subscription(
            wallet_id=wallet.id,
            stripe_subscription_id="sub_live_1",
            package_id="pro",
            status="active",
            updated_at=utcnow(),
        )
    )
    db.session.commit()
    return user


def delete_by_page(client, password=PASSWORD):
    Browser(client).login()
    page = client.get("/account/delete")
    return page, client.post(
        "/account/delete", data={"csrf_token": csrf_of(page.data), "password": password}
    )


def status_of(subscription_id: str) -> str:
    db.session.rollback()
    return db.session.scalar(
        select(Subscription.status).where(Subscription.stripe_subscription_id == subscription_id)
    )


def test_deleting_cancels_the_subscription_at_stripe(client, subscribed, fake_stripe):
    page, response = delete_by_page(client)

    assert b"Your subscription is cancelled at once" in page.data
    assert response.status_code == 302
    [call] = fake_stripe.calls("/v1/subscriptions/sub_live_1")
    assert call.method == "DELETE"
    assert status_of("sub_live_1") == "canceled"
    assert is_deleted(db.session.get(User, subscribed.id))


def test_a_cancellation_stripe_refuses_deletes_nothing(client, subscribed, fake_stripe):
    fake_stripe.fail_with(status=500, type="api_error", code="server_error")

    _, response = delete_by_page(client)

    assert response.status_code == 503
    [alert] = alerts(response)
    assert "could not be cancelled at the payment provider" in alert
    assert "not deleted" in alert
    db.session.rollback()
    kept = db.session.get(User, subscribed.id)
    assert not is_deleted(kept) and kept.email == "ada@example.com"
    assert status_of("sub_live_1") == "active"
    assert Browser(client).login(password=PASSWORD).status_code == 302  # still signs in


def test_the_page_says_it_before_the_password_is_asked(app, subscribed):
    with app.test_request_context():
        [said] = consequences(subscribed)
    assert "cancelled at once" in said and "not refunded" in said
