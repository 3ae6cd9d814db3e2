"""Deleting the account from its page: what happens to the credits is said first, the
password confirms, then the account is gone and this browser signed out."""

import pytest
from sqlalchemy import select

from idp.audit.models import AuditEvent
from idp.users.models import User
from tests.helpers import PASSWORD, Browser
from tests.pages.flows import session_cookie, submit
from tests.pages.html import alerts, text
from wallet import ledger, services


@pytest.fixture
def signed_in(client, user):
    assert Browser(client).login().status_code == 302
    return client


def test_the_page_states_what_happens_to_the_credits(signed_in, db, user):
    services.grant(ledger.wallet_for(user.id), 250, "promo_grant", "test")
    page = signed_in.get("/account/delete")
    assert page.status_code == 200
    assert "Your 250 credits will be forfeited: they are not refunded" in text(page)
    db.session.rollback()
    assert not db.session.get(User, user.id).disabled  # opening it deletes nothing


def test_no_credits_is_said_too(signed_in, db, user):
    assert "You have no credits, so none are lost." in text(signed_in.get("/account/delete"))


def test_the_password_confirms(signed_in, db, user):
    response = submit(signed_in, "/account/delete", password="wrong password!")
    assert response.status_code == 400
    assert alerts(response) == ["Your password is incorrect."]
    db.session.rollback()
    assert db.session.get(User, user.id).email == "ada@example.com"


def test_deleting_signs_out_and_says_so_once(app, signed_in, db, user):
    elsewhere = app.test_client()
    assert Browser(elsewhere).login().status_code == 302

    response = submit(signed_in, "/account/delete", password=PASSWORD)

    assert (response.status_code, response.headers["Location"]) == (302, "/account/deleted")
    assert session_cookie(signed_in, app) is None
    assert "Your account is deleted" in text(signed_in.get("/account/deleted"))
    assert signed_in.get("/account/deleted").status_code == 302  # shown once
    assert elsewhere.get("/account").status_code == 302
    db.session.rollback()
    assert db.session.get(User, user.id).email.endswith("@deleted.invalid")
    event = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()))
    assert (event.event, event.detail) == ("account.deleted", {"actor": "self"})
    assert Browser(app.test_client()).login().status_code == 401  # no such account any more
