"""Deleting an account (idp.users.deletion): anonymised, its ledger kept, its access
ended, audited; the wallet's remaining credits forfeited by one entry."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from idp.audit.models import AuditEvent
from idp.core.db_types import utcnow
from idp.oauth2.models import RefreshToken
from idp.users import services as users
from idp.users.deletion import consequences, delete_account, is_deleted
from idp.users.models import User
from tests.helpers import PASSWORD, Browser, stored_refresh_token
from wallet import holds, ledger, services
from wallet.models import EXPIRE, LedgerEntry, Wallet


def fund(user, credits: int) -> Wallet:
    wallet = ledger.wallet_for(user.id)
    services.grant(wallet, credits, "promo_grant", "test")
    return wallet


def reloaded(db, user) -> User:
    db.session.rollback()
    return db.session.get(User, user.id)


def test_deleting_anonymises_and_ends_access(app, db, user, apps):
    stored_refresh_token(user, apps)
    browser = app.test_client()
    assert Browser(browser).login().status_code == 302
    old_sub = user.sub

    with app.test_request_context():
        delete_account(user, "self")

    gone = reloaded(db, user)
    assert gone.email.endswith("@deleted.invalid") and gone.email != "ada@example.com"
    assert (gone.display_name, gone.disabled, gone.email_verified) == ("", True, False)
    assert gone.sub != old_sub
    assert is_deleted(gone)
    assert users.by_email("ada@example.com") is None
    assert browser.get("/account").status_code == 302
    token = db.session.scalar(select(RefreshToken))
    assert token.revoked_at is not None and token.revoke_reason == "account_deleted"
    event = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()))
    assert (event.event, event.user_id, event.detail) == (
        "account.deleted",
        user.id,
        {"actor": "self"},
    )
    assert Browser(app.test_client()).login(password=PASSWORD).status_code == 401


def test_deleting_forgets_the_consents_and_signing_out_everywhere_does_not(app, db, user, apps):
    from idp.oauth2 import services as oauth2
    from idp.users.access import end_all_access

    apps.partner("shop", "openid email")
    oauth2.grant_consent(user.id, "shop", "openid email")
    end_all_access(user.id, "sign_out_everywhere")
    db.session.commit()
    assert [c.client_id for c in oauth2.consents(user.id)] == ["shop"]

    with app.test_request_context():
        delete_account(user, "self")

    db.session.rollback()
    assert oauth2.consents(user.id) == []
    assert oauth2.granted_scopes(user.id, "shop") == set()


@pytest.mark.postgres
def test_the_ledger_is_kept_and_credits_are_forfeited(app, db, user):
    wallet = fund(user, 120)
    holds.hold(wallet, 20, 600, "render", "k1", None, "test")
    expired, _ = holds.hold(wallet, 5, 600, "old", "k2", None, "test")
    expired.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()

    # No request context: the CLI calls it so.
    delete_account(db.session.get(User, user.id), "operator:test")

    db.session.rollback()
    wallet = db.session.scalar(select(Wallet).where(Wallet.user_id == user.id))
    assert (wallet.balance, wallet.held) == (0, 0)
    entries = list(db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)))
    assert [e.kind for e in entries] == [
        "promo_grant",
        "hold",
        "hold",
        "expire",
        "release",
        "expire",
    ]
    last = entries[-1]
    assert (last.kind, last.amount, last.actor, last.reason) == (
        EXPIRE,
        -120,
        "operator:test",
        "account deleted",
    )
    assert db.session.scalar(select(func.count()).select_from(User)) == 1  # the row stays


def test_consequences_state_the_credits_before_deletion(app, db, user):
    with app.test_request_context():
        assert consequences(user) == []  # no wallet: nothing to say
        wallet = fund(user, 42)
        holds.hold(wallet, 2, 600, "render", "k1", None, "test")
        (sentence,) = consequences(user)
    assert sentence.startswith(
        "Your 42 credits (2 of them reserved by apps for work in progress) will be forfeited"
    )


def test_deleting_twice_does_nothing_more(app, db, user):
    with app.test_request_context():
        delete_account(user, "self")
        email = user.email
        delete_account(user, "self")
    assert reloaded(db, user).email == email
    deleted = select(func.count()).where(AuditEvent.event == "account.deleted")
    assert db.session.scalar(deleted) == 1
