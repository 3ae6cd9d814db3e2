"""`flask users delete`: says what happens to the credits, asks (unless --yes), then
deletes through idp.users.deletion (anonymised, ledger kept, access ended)."""

import json

import pytest
from sqlalchemy import select

from idp.audit.models import AuditEvent
from idp.oauth2.models import RefreshToken
from idp.users.models import User
from tests.helpers import Browser, stored_refresh_token
from tests.wallet.actions import entries, fund, stored

EMAIL = "ada@example.com"


def delete(runner, *args, **kwargs):
    return runner.invoke(args=["users", "delete", *args], **kwargs)


def reload(db, user) -> User:
    db.session.rollback()
    return db.session.get(User, user.id)


def test_delete_with_yes_json(app, runner, db, user, apps):
    fund(user, 50)
    stored_refresh_token(user, apps)
    browser = app.test_client()
    assert Browser(browser).login().status_code == 302
    old_sub = user.sub

    result = delete(runner, "ADA@example.com", "--yes", "--json")

    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)  # the notice went to stderr: stdout is one document
    assert body["deleted"] == {"email": EMAIL, "sub": old_sub}
    assert body["email"].endswith("@deleted.invalid") and body["disabled"] is True
    assert body["sub"] != old_sub
    [said] = body["consequences"]
    assert "50 credits will be forfeited" in said
    assert "50 credits will be forfeited" in result.stderr
    gone = reload(db, user)
    assert gone.email == body["email"] and gone.display_name == ""
    # the ledger is kept: the grant, then the entry that forfeits the balance
    assert [(e.kind, e.amount, e.actor) for e in entries(gone)] == [
        ("promo_grant", 50, "test"),
        ("expire", -50, "operator:cli"),
    ]
    assert stored(gone) == (0, 0)
    assert browser.get("/account").status_code == 302  # signed out
    assert Browser(app.test_client()).login().status_code == 401
    token = db.session.scalar(select(RefreshToken))
    assert token.revoked_at is not None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "account.deleted"))
    assert (event.user_id, event.detail) == (user.id, {"actor": "operator:cli"})


def test_delete_asks_and_stating_the_credits_first(runner, db, user):
    fund(user, 30)

    refused = delete(runner, EMAIL, input="n\n")

    assert refused.exit_code == 1
    assert "30 credits will be forfeited" in refused.output
    assert "Its ledger and audit history are kept" in refused.output
    assert "Delete this account? [y/N]" in refused.output and "Aborted" in refused.output
    assert reload(db, user).email == EMAIL and stored(user) == (30, 0)

    accepted = delete(runner, EMAIL, "--actor", "operator:eve", input="y\n")

    assert accepted.exit_code == 0, accepted.output
    gone = reload(db, user)
    assert gone.email.endswith("@deleted.invalid")
    assert f"deleted {EMAIL}; the account is now {gone.email}" in accepted.output
    assert entries(gone)[-1].actor == "operator:eve"


def test_delete_an_account_without_credits(runner, db, user):
    result = delete(runner, EMAIL, "--yes")
    assert result.exit_code == 0, result.output
    assert "It holds no credits: nothing is forfeited." in result.output
    assert reload(db, user).disabled is True


@pytest.mark.parametrize(
    ("target", "description"),
    [
        ("nobody@example.com", "No account has that email address."),
        ("deleted", "That account was already deleted."),
    ],
)
def test_delete_refuses(runner, db, user, target, description):
    if target == "deleted":
        assert delete(runner, EMAIL, "--yes").exit_code == 0
        target = reload(db, user).email
    result = delete(runner, target, "--yes", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"error": "not_found", "error_description": description}
    readable = delete(runner, target, "--yes")
    assert readable.exit_code == 1 and f"Error: {description}" in readable.output
