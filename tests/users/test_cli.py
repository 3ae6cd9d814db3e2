"""`flask users ...`: create, list, disable (ends sessions), enable."""

import json

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

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

    lines = flask_users(runner, "list").stdout.splitlines()
    assert [line.split()[1:] for line in lines] == [
        ["ada@example.com", "verified"],
        ["bob@example.com", "disabled"],
    ]


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
