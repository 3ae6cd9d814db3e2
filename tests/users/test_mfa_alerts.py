"""The owner hears of a sign-in from a new device (a browser without our device cookie,
or with one none of the account's sessions came from), and the account page's sessions
list says how each session signed in."""

from __future__ import annotations

import pytest

from tests.helpers import Browser

from .mfa_actions import Mfa, code_at

NEW_SIGN_IN = "New sign-in to your account"


def subjects(mailbox) -> list[str]:
    return [m["Subject"] for m in mailbox.messages]


def test_the_first_sign_in_of_an_account_is_not_an_alert(mailbox, browser, user):
    assert browser.login().status_code == 302
    assert NEW_SIGN_IN not in subjects(mailbox)


def test_a_sign_in_from_another_browser_is_mailed_once(mailbox, signed_in, new_browser, app):
    other = Browser(new_browser())
    assert other.login().status_code == 302
    assert subjects(mailbox).count(NEW_SIGN_IN) == 1
    body = mailbox.messages[-1].get_payload(decode=True).decode()
    assert "IP address" in body
    assert other.http.get_cookie(app.config["IDP_DEVICE_COOKIE"]) is not None
    # The same browser again (signed out in between): a device the account knows.
    other.http.post("/logout", data={"csrf_token": _csrf(other)})
    assert other.login().status_code == 302
    assert subjects(mailbox).count(NEW_SIGN_IN) == 1


def test_a_device_cookie_of_another_account_is_new_to_this_one(mailbox, user, new_browser):
    from tests.helpers import make_user

    make_user("bob@example.com")
    shared = Browser(new_browser())
    assert shared.login("bob@example.com").status_code == 302  # bob's first: no alert
    Browser(new_browser()).login()  # ada's first session, elsewhere
    shared.http.post("/logout", data={"csrf_token": _csrf(shared)})
    assert shared.login().status_code == 302
    assert subjects(mailbox).count(NEW_SIGN_IN) == 1


def _csrf(browser) -> str:
    from tests.helpers import csrf_of

    return csrf_of(browser.http.get("/logout").data)


@pytest.fixture
def enrolled(mailbox, signed_in, monkeypatch):
    return Mfa(signed_in.http).enrol(monkeypatch)


def test_the_sessions_list_says_how_each_signed_in(enrolled, signed_in, new_browser):
    secret, _ = enrolled
    assert Mfa(new_browser()).sign_in(code_at(secret, 0)).status_code == 302
    page = signed_in.http.get("/account").data.decode()
    assert page.count("Signed in with: password, authenticator code") == 2
