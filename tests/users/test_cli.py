"""`flask users ...`: create, list, show, verify, disable (ends sessions), enable."""

import json

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from idp.audit.models import AuditEvent
from idp.oauth2.models import RefreshToken
from idp.users.models import User
from tests.helpers import PASSWORD, Browser, make_user, stored_refresh_token


def flask_users(runner, *args):
    return runner.invoke(args=["users", *args])


def as_json(result):
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return json.loads(result.stdout)


def stored(db, email: str) -> User:
    db.session.rollback()
    return db.session.scalar(select(User).where(User.email == email))


@pytest.mark.parametrize(
    ("flags", "verified", "user_type"),
    [
        ([], False, "customer"),
        (["--verified"], True, "customer"),
        (["--verified", "--admin"], True, "admin"),
    ],
)
def test_create(runner, client, db, flags, verified, user_type):
    result = flask_users(
        runner, "create", "--email", "Op@Example.com", "--password", PASSWORD, *flags, "--json"
    )

    assert result.exit_code == 0, result.output
    body = as_json(result)
    assert {k: body[k] for k in ("email", "email_verified", "user_type", "disabled")} == {
        "email": "op@example.com",
        "email_verified": verified,
        "user_type": user_type,
        "disabled": False,
    }
    assert len(body["sub"]) >= 22 and "password" not in result.stdout.lower()
    user = stored(db, "op@example.com")
    assert user.sub == body["sub"]
    assert PasswordHasher().verify(user.password_hash, PASSWORD)
    assert user.password_hash.startswith("$argon2id$")
    login = Browser(client).login("op@example.com")
    assert login.status_code == 302
    assert login.headers["Location"].startswith("/account" if verified else "/verify")


@pytest.mark.parametrize(
    ("email", "password", "error"),
    [
        ("ada@example.com", PASSWORD, "email_in_use"),
        ("not-an-email", PASSWORD, "invalid_email"),
        ("op@example.com", "short", "weak_password"),
    ],
)
def test_create_rejections(runner, db, user, email, password, error):
    result = flask_users(runner, "create", "--email", email, "--password", password, "--json")
    assert result.exit_code == 1
    assert as_json(result)["error"] == error
    readable = flask_users(runner, "create", "--email", email, "--password", password)
    assert readable.exit_code == 1
    assert "Error:" in readable.output


def test_create_prompts_for_the_password(runner, db):
    result = runner.invoke(
        args=["users", "create", "--email", "op@example.com"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert PasswordHasher().verify(stored(db, "op@example.com").password_hash, PASSWORD)


def test_list(runner, db, user):
    make_user("bob@example.com", verified=False)
    flask_users(runner, "disable", "bob@example.com")

    body = as_json(flask_users(runner, "list", "--json"))
    assert [(u["email"], u["email_verified"], u["disabled"]) for u in body] == [
        ("ada@example.com", True, False),
        ("bob@example.com", False, True),
    ]
    assert all("password" not in key for u in body for key in u)

    header, *lines = flask_users(runner, "list").stdout.splitlines()
    assert header.split() == ["SUB", "EMAIL", "FLAGS"]
    assert [line.split()[1:] for line in lines] == [
        ["ada@example.com", "verified"],
        ["bob@example.com", "disabled"],
    ]
    # the columns line up under their headings
    assert {line.index(line.split()[1]) for line in lines} == {header.index("EMAIL")}


def test_disable_ends_sessions_and_refresh_tokens_then_enable(app, runner, db, user, apps):
    stored_refresh_token(user, apps)
    browser = app.test_client()
    assert Browser(browser).login().status_code == 302

    result = flask_users(runner, "disable", "ADA@example.com", "--json")

    assert result.exit_code == 0, result.output
    assert as_json(result)["disabled"] is True
    assert browser.get("/account").status_code == 302
    assert Browser(app.test_client()).login().status_code == 401
    db.session.rollback()
    token = db.session.scalar(select(RefreshToken))
    assert token.revoked_at is not None and token.revoke_reason == "account_disabled"

    result = flask_users(runner, "enable", "ada@example.com", "--json")

    assert result.exit_code == 0, result.output
    assert as_json(result)["disabled"] is False
    assert Browser(app.test_client()).login().status_code == 302
    assert browser.get("/account").status_code == 302  # the ended session stays ended


@pytest.mark.parametrize("command", ["disable", "enable"])
def test_unknown_account(runner, db, command):
    result = flask_users(runner, command, "nobody@example.com", "--json")
    assert result.exit_code == 1
    assert as_json(result) == {
        "error": "not_found",
        "error_description": "No account has that email address.",
    }


@pytest.mark.parametrize("as_json_flag", [["--json"], []], ids=["json", "text"])
def test_create_checks_the_address_before_asking_for_the_password(runner, db, as_json_flag):
    result = runner.invoke(args=["users", "create", "--email", "bad", *as_json_flag], input="")
    assert result.exit_code == 1, result.output
    assert "Password" not in result.output  # no prompt was shown
    if as_json_flag:
        assert as_json(result)["error"] == "invalid_email"
    else:
        assert "Error: Enter a valid email address." in result.output
    assert db.session.scalar(select(User)) is None


def test_show(app, runner, db, user):
    assert Browser(app.test_client()).login().status_code == 302
    assert Browser(app.test_client()).login().status_code == 302

    body = as_json(flask_users(runner, "show", " ADA@Example.com ", "--json"))

    assert body["sub"] == user.sub and body["email"] == "ada@example.com"
    assert body["active_sessions"] == 2 and body["email_verified"] is True
    assert all("password" not in key for key in body)
    text = flask_users(runner, "show", "ada@example.com")
    assert text.exit_code == 0
    rows = dict(line.split(None, 1) for line in text.stdout.splitlines())
    assert rows["email"] == "ada@example.com" and rows["active_sessions"] == "2"


def test_show_counts_only_live_sessions(app, runner, db, user):
    browser = app.test_client()
    assert Browser(browser).login().status_code == 302
    flask_users(runner, "disable", "ada@example.com")
    flask_users(runner, "enable", "ada@example.com")
    assert as_json(flask_users(runner, "show", "ada@example.com", "--json"))["active_sessions"] == 0


def test_verify(app, runner, db):
    make_user("bob@example.com", verified=False)
    before = stored(db, "bob@example.com").updated_at

    result = flask_users(runner, "verify", "Bob@example.com", "--actor", "admin:eve", "--json")

    assert result.exit_code == 0, result.output
    assert as_json(result)["email_verified"] is True
    bob = stored(db, "bob@example.com")
    assert bob.email_verified is True and bob.updated_at >= before
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "email.verified"))
    assert (event.user_id, event.detail) == (bob.id, {"via": "cli", "actor": "admin:eve"})
    login = Browser(app.test_client()).login("bob@example.com")
    assert login.headers["Location"].startswith("/account")

    again = flask_users(runner, "verify", "bob@example.com")
    assert again.exit_code == 0
    assert "bob@example.com was already verified" in again.output
    verified = select(func.count(AuditEvent.id)).where(AuditEvent.event == "email.verified")
    assert db.session.scalar(verified) == 1


@pytest.mark.parametrize("command", ["show", "verify"])
def test_show_and_verify_refuse(runner, db, command):
    unknown = flask_users(runner, command, "nobody@example.com", "--json")
    assert unknown.exit_code == 1
    assert as_json(unknown) == {
        "error": "not_found",
        "error_description": "No account has that email address.",
    }
    bad = flask_users(runner, command, "not-an-address")
    assert bad.exit_code == 1
    assert "Error: Enter a valid email address." in bad.output
