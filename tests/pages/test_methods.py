"""Only POST submits: every route, asked with any other method and a form body that a
POST would act on (valid CSRF token included), changes nothing and sends no mail.

The routes come from ``app.url_map``, so a route added later is covered without
editing this file."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from idp.users import services as users
from tests.helpers import PASSWORD, csrf_of, mint_tokens
from tests.pages.flows import sign_up

METHODS = ["HEAD", "PUT", "DELETE", "PATCH"]


class World:
    """A signed-in user with a consent to ``shop``, a pending sign-up, a live reset link,
    and everything a submission needs: what each route's form would act on."""

    def __init__(self, app, db, user, apps, signed_in, mailbox):
        self.app, self.db, self.mailbox = app, db, mailbox
        self.shop = apps.partner("shop", "openid profile credits:read")
        mint_tokens(self.shop, user, "openid profile")  # a consent to revoke
        self.http = signed_in.http
        sign_up(self.http, "pending@example.com")  # a code waiting at /verify
        links: list[str] = []
        users.request_reset(user.email, links.append)
        self.reset_token = links[0]
        self.args = {
            "client_id": "shop",
            "sub": user.sub,
            "hold_id": "hold_x",
            "session_id": "cs_test_x",
            "token": self.reset_token,
            "filename": "idp.css",
            "endpoint_id": "we_x",
            "event_id": "evt_x",
            "passkey_id": "1",
        }
        self.form = {
            "email": user.email,
            "password": "an attacker's new password",
            "current_password": PASSWORD,
            "new_password": "an attacker's new password",
            "display_name": "Mallory",
            "code": "000000",
            "action": "verify",
            "decision": "allow",
            "client_id": "shop",
            "package_id": "starter",
            "amount": "100",
            "low_balance_below": "10",  # the wallet settings forms
            "limit_app": "shop",
            "limit_day": "10",
            "csrf_token": csrf_of(self.http.get("/login").data),
        }

    def snapshot(self) -> dict:
        """Every row of every table, and the mail sent so far."""
        self.db.session.rollback()
        rows = {
            table.name: sorted(map(repr, self.db.session.execute(sa.select(table)).all()))
            for table in self.db.metadata.sorted_tables
        }
        return {"rows": rows, "mails": len(self.mailbox.messages)}

    def paths(self) -> dict[str, set[str]]:
        """Every routed path (arguments filled in) and the methods its rules accept."""
        adapter = self.app.url_map.bind("idp.test")
        paths: dict[str, set[str]] = {}
        for rule in self.app.url_map.iter_rules():
            values = {name: self.args[name] for name in rule.arguments}
            path = adapter.build(rule.endpoint, values, method=sorted(rule.methods)[0])
            paths.setdefault(path, set()).update(rule.methods)
        return paths


@pytest.fixture
def world(app, db, user, apps, signed_in, mailbox):
    return World(app, db, user, apps, signed_in, mailbox)


@pytest.mark.parametrize("method", METHODS)
def test_no_method_but_post_submits_a_form(world, method):
    paths = world.paths()
    assert len(paths) > 40  # the whole map, not a few hand-picked routes
    for path in paths:  # what a page view creates lazily (a wallet) is not a submission
        world.http.get(path, query_string={"client_id": "shop"})
    before = world.snapshot()
    changed = []
    for path, allowed in paths.items():
        response = world.http.open(
            path, method=method, data=world.form, query_string={"client_id": "shop"}
        )
        assert response.status_code < 500, (method, path, response.status_code)
        if method == "HEAD":
            assert response.data == b"", (method, path)
        if method not in allowed:
            assert response.status_code == 405, (method, path, response.status_code)
        if world.snapshot() != before:
            changed.append(path)
            before = world.snapshot()
    assert changed == [], f"{method} changed state or sent mail at {changed}"


def test_head_is_answered_as_the_page_it_stands_for(world):
    """HEAD of a page answers as GET does (status and headers), with no body."""
    get, head = world.http.get("/login"), world.http.head("/login")
    assert head.status_code == get.status_code == 200
    assert head.headers["Content-Type"] == get.headers["Content-Type"]
    assert head.data == b""


def test_head_with_credentials_neither_signs_in_nor_counts(app, user, new_browser):
    """A HEAD carrying the right password is not a sign-in (no SSO cookie), and a
    flood of wrong ones is not a way around the POST limit: none of them is tried."""
    http = new_browser()
    token = csrf_of(http.get("/login").data)
    form = {"email": user.email, "password": PASSWORD, "csrf_token": token}
    response = http.head("/login", data=form)
    assert response.status_code == 200
    assert http.get_cookie(app.config["IDP_SESSION_COOKIE"]) is None
    assert http.get("/account").status_code == 302  # still signed out
