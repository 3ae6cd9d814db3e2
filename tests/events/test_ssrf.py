"""Webhook URLs: https only (http to loopback in development), and never a private,
link-local or (in production) loopback address, checked on every resolved address
before a connection.  A stub resolver answers: no test sends a packet anywhere."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.core import outbox
from idp.events import delivery, endpoints, ssrf
from idp.events.errors import UnsafeURL
from idp.events.models import WebhookAttempt
from idp.oauth2 import services as oauth2


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.shop.example/x",  # plain http to a public name
        "ftp://hooks.shop.example/x",
        "https://user:pw@hooks.shop.example/x",
        "https://hooks.shop.example/x#frag",
        "https:///nohost",
        "https://10.0.0.5/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[fe80::1]/x",
        "https://hooks.shop.example:99999/x",
        "not a url",
    ],
)
def test_refused_at_registration(url):
    with pytest.raises(UnsafeURL):
        ssrf.check_syntax(url, production=False)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x", "http://localhost:9/x"])
def test_loopback_http_only_outside_production(url):
    ssrf.check_syntax(url, production=False)
    with pytest.raises(UnsafeURL):
        ssrf.check_syntax(url, production=True)


@pytest.mark.parametrize(
    "answers",
    [
        ["10.1.2.3"],
        ["192.168.0.10"],
        ["172.16.5.4"],
        ["169.254.169.254"],
        ["100.64.0.1"],  # carrier-grade NAT
        ["fd00::1"],
        ["::ffff:10.0.0.1"],
        ["93.184.216.34", "10.0.0.1"],  # one bad answer refuses the name
        ["127.0.0.1"],  # loopback, in production
        ["224.0.0.1"],
    ],
)
def test_a_name_resolving_to_a_private_address_is_refused(stub_resolver, answers):
    stub_resolver["hooks.shop.example"] = answers
    with pytest.raises(UnsafeURL):
        ssrf.safe_addresses("https://hooks.shop.example/x", production=True)


def test_a_public_answer_is_used_as_resolved(stub_resolver):
    stub_resolver["hooks.shop.example"] = ["93.184.216.34"]
    assert ssrf.safe_addresses("https://hooks.shop.example/x", production=True) == ["93.184.216.34"]


def test_a_name_that_does_not_resolve_is_refused(stub_resolver):
    with pytest.raises(UnsafeURL):
        ssrf.safe_addresses("https://nowhere.example/x", production=True)


def test_delivery_checks_before_connecting(db, user, apps, stub_resolver, monkeypatch):
    """A name that now resolves to a private address: the attempt is recorded as
    refused and no connection is opened."""
    apps.partner("shop", "openid")
    endpoints.add("shop", "https://hooks.shop.example/x")
    db.session.commit()
    stub_resolver["hooks.shop.example"] = ["10.0.0.7"]

    def no_connection(*args, **kwargs):
        raise AssertionError("a connection was opened")

    monkeypatch.setattr(delivery.socket, "create_connection", no_connection)
    oauth2.grant_consent(user.id, "shop", "openid")
    outbox.drain()
    [attempt] = db.session.scalars(select(WebhookAttempt)).all()
    assert (attempt.ok, attempt.error) == (False, "refused_address")
