"""Fault tests: an app on a PostgreSQL and a Redis of their own (reliability.services),
which the tests stop, kill and restart; the servers the rest of the suite shares are
never touched.  The app is built once per module and data is really committed."""

from __future__ import annotations

import threading
import time

import pytest
from flask_migrate import upgrade

from idp import create_app
from idp.core.extensions import db
from reliability import services
from tests.conftest import REQUIRE_SERVICES, base_settings
from tests.helpers import Apps, install_fixed_keys, make_user, mint_tokens

API = "/api/cross-app"
PARTNER_SCOPES = "openid profile credits:read credits:consume credits:purchase"
USER_SCOPE = "openid credits:read credits:consume"
BUYER_SCOPE = USER_SCOPE + " credits:purchase"
WEBHOOK_SECRET = "whsec_reliability_" + "x" * 24
# The longest any request may take while a dependency is down or hung: the timeouts in
# front of PostgreSQL and Redis are a few seconds; a hung request never answers.
ANSWER_WITHIN = 15.0


class Stack:
    """The app, its own PostgreSQL and Redis, and what the tests act with."""

    def __init__(self, tmp_path_factory, smtp_url: str) -> None:
        self.pg = services.Postgres()
        self.redis = services.Redis()
        try:
            self._build(tmp_path_factory, smtp_url)
        except BaseException:  # a failed build leaves no server behind
            self.pg.remove()
            self.redis.remove()
            raise

    def _build(self, tmp_path_factory, smtp_url: str) -> None:
        self.pg.start()
        self.redis.start()
        url = self.pg.database("idp")
        settings = base_settings(url, self.redis.url, tmp_path_factory.mktemp("instance"))
        settings.update(IDP_SMTP_URL=smtp_url, IDP_OUTBOX_DELIVERY="cli", TESTING=False)
        # The simulated checkout records purchases as Stripe's would; the webhook deliveries
        # are signed here with the same secret (reliability.stripe_events).
        settings.update(IDP_PAYMENTS="simulated", IDP_STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET)
        # Limits stay on (their storage is one of the things that fails) but high enough
        # for the module's sign-ins, right and wrong.
        for name in ("IDP_RATELIMIT_LOGIN_IP", "IDP_RATELIMIT_LOGIN_ACCOUNT"):
            settings[name] = "10000/minute"
        self.app = create_app(settings)
        with self.app.app_context():
            upgrade()
            install_fixed_keys()
            apps = Apps()
            self.shop = apps.partner("shop", PARTNER_SCOPES)
            self.user = make_user()
            self.user_sub = self.user.sub
            self.token = mint_tokens(self.shop, self.user, USER_SCOPE)["access_token"]
            self.buyer_token = mint_tokens(self.shop, self.user, BUYER_SCOPE)["access_token"]
            db.session.commit()
        result = self.app.test_cli_runner().invoke(
            args=[
                "wallet",
                "grant",
                "--email",
                "ada@example.com",
                "--credits",
                "100000",
                "--reason",
                "fault tests",
            ]
        )
        assert result.exit_code == 0, result.output

    def client(self):
        return self.app.test_client()

    def audit(self) -> str:
        """``flask wallet audit`` (fails the test unless every wallet reconciles)."""
        result = self.app.test_cli_runner().invoke(args=["wallet", "audit"])
        assert result.exit_code == 0, result.output
        return result.output

    def remove(self) -> None:
        with self.app.app_context():
            db.engine.dispose()
        self.pg.remove()
        self.redis.remove()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, smtp_server):
    reason = services.missing()
    if reason:
        if REQUIRE_SERVICES:
            pytest.fail(f"{reason}; IDP_TEST_REQUIRE_SERVICES=1 forbids skipping")
        pytest.skip(reason)
    built = Stack(tmp_path_factory, smtp_server.url)
    try:
        yield built
    finally:
        built.remove()


def timed(call, *args, **kwargs):
    """``call(*args, **kwargs)`` on a thread; fails the test if it is still running after
    ANSWER_WITHIN seconds (a hung request).  Returns its result."""
    box: dict = {}

    def run():
        try:
            box["value"] = call(*args, **kwargs)
        except BaseException as exc:  # re-raised on the test's thread
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(ANSWER_WITHIN)
    if thread.is_alive():
        pytest.fail(f"no answer within {ANSWER_WITHIN:.0f} s: {call.__name__}{args}")
    if "error" in box:
        raise box["error"]
    box["value"].elapsed = time.monotonic() - started
    return box["value"]
