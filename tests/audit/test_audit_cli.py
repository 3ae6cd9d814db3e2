"""`flask audit tail`: recent security events, filterable, never holding secrets."""

import json

import pytest

from tests.helpers import PASSWORD, Browser, authorize_url, mail_code, pkce_pair
from tests.pages.flows import enter_code, forgot, sign_up

NEW_PASSWORD = "a brand new passphrase"


def tail(runner, *args) -> list[dict]:
    result = runner.invoke(args=["audit", "tail", "--json", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture
def history(app, db, user, apps, mailbox):
    """A browser's busy day: failures, sign-up, verification, consent, reset, sign-out.

    Returns every secret it typed or received, none of which may reach the log."""
    apps.create(
        client_id="shop",
        redirect_uris=["https://shop.example/cb"],
        allowed_scopes="openid profile",
        audience="https://shop.example",
    )
    http = app.test_client()
    browser = Browser(http)
    browser.login("nobody@example.com", "guessed password 1")
    browser.login(password="guessed password 2")
    sign_up(http, "new@example.com", "sign-up password")
    code = mail_code(mailbox)
    enter_code(http, code)
    browser.login()
    consent = browser.consent(
        authorize_url("shop", "https://shop.example/cb", "openid profile", pkce_pair()[1])
    )
    forgot(http, "ada@example.com")
    link = mailbox.messages[-1].get_payload(decode=True).decode().split("/reset/")[1].split()[0]
    return [
        PASSWORD,
        "guessed password 1",
        "guessed password 2",
        "sign-up password",
        code,
        link,
        consent.headers["Location"].split("code=")[1].split("&")[0],
    ]


def test_tail_json_lists_events_oldest_first(runner, user, history):
    events = tail(runner, "-n", "100")

    assert [e["event"] for e in events] == [
        "login.failed",
        "login.failed",
        "signup",
        "email.verified",
        "login.succeeded",
        "consent.granted",
        "password.reset_requested",
    ]
    failed = events[:2]
    assert [(e["user_id"], e["detail"]) for e in failed] == [
        (None, {"reason": "unknown_account"}),
        (user.id, {"reason": "bad_password"}),
    ]
    consent = events[5]
    assert (consent["user_id"], consent["client_id"], consent["detail"]) == (
        user.id,
        "shop",
        {"scope": "openid profile"},
    )
    assert all(e["ip"] == "127.0.0.1" for e in events)
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)


def test_log_holds_no_secrets(runner, history):
    raw = runner.invoke(args=["audit", "tail", "-n", "100", "--json"]).stdout
    readable = runner.invoke(args=["audit", "tail", "-n", "100"]).stdout
    for secret in history:
        assert secret not in raw and secret not in readable


@pytest.mark.parametrize(
    ("event", "count"),
    [("login.failed", 2), ("login.succeeded", 1), ("signup", 1), ("consent.granted", 1)],
)
def test_event_filter(runner, history, event, count):
    events = tail(runner, "--event", event)
    assert len(events) == count
    assert {e["event"] for e in events} == {event}


def test_limit_keeps_the_most_recent(runner, history):
    events = tail(runner, "-n", "2")
    assert [e["event"] for e in events] == ["consent.granted", "password.reset_requested"]


def test_readable_output(runner, user, history):
    result = runner.invoke(args=["audit", "tail", "--event", "login.failed"])
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert "login.failed" in lines[0] and "user=-" in lines[0]
    assert '{"reason": "unknown_account"}' in lines[0]
    assert f"user={user.id}" in lines[1] and "ip=127.0.0.1" in lines[1]
