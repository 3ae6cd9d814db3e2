"""Rate limits: failed sign-ins per IP and per account, sign-up, reset, client auth."""

import base64

import pytest

from tests.helpers import PASSWORD, Browser, basic
from tests.pages.flows import forgot, sign_up
from tests.pages.html import alerts

# Counters live in Flask-Limiter's storage, Redis when configured, else process memory:
# the tests marked ``redis`` hold on both.
on_both = pytest.mark.redis

MESSAGE = "Too many attempts. Wait a little and try again. Error code: rate_limited"
WRONG = "wrong password!"


def browser_at(app, ip: str = "127.0.0.1") -> Browser:
    http = app.test_client()
    http.environ_base["REMOTE_ADDR"] = ip
    return Browser(http)


def assert_limited(response) -> None:
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert alerts(response) == [MESSAGE]


@on_both
def test_failed_sign_ins_per_account(make_app, app, db, user):
    limited = make_app(IDP_RATELIMIT_LOGIN_ACCOUNT="3/minute")
    for ip in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):  # spread over IPs: the account counts
        assert browser_at(limited, ip).login(password=WRONG).status_code == 401

    for password in (WRONG, PASSWORD):
        assert_limited(browser_at(limited, "10.0.0.4").login(" ADA@example.com", password))


@on_both
def test_failed_sign_ins_per_ip(make_app, app, db, user):
    limited = make_app(IDP_RATELIMIT_LOGIN_IP="3/minute")
    browser = browser_at(limited, "10.0.0.1")
    for n in range(3):
        assert browser.login(f"nobody{n}@example.com", WRONG).status_code == 401

    assert_limited(browser.login())
    assert browser_at(limited, "10.0.0.2").login().status_code == 302


@on_both
def test_successful_sign_ins_do_not_count(make_app, app, db, user):
    limited = make_app(IDP_RATELIMIT_LOGIN_ACCOUNT="3/minute", IDP_RATELIMIT_LOGIN_IP="3/minute")
    browser = browser_at(limited)
    for _ in range(5):
        assert browser.login().status_code == 302
    for _ in range(3):
        assert browser.login(password=WRONG).status_code == 401
    assert_limited(browser.login())


@on_both
def test_one_account_does_not_block_another(make_app, app, db, user):
    from tests.helpers import make_user

    make_user("bob@example.com")
    limited = make_app(IDP_RATELIMIT_LOGIN_ACCOUNT="3/minute")
    browser = browser_at(limited)
    for _ in range(3):
        browser.login(password=WRONG)
    assert_limited(browser.login())

    assert browser.login("bob@example.com", WRONG).status_code == 401
    assert browser.login("bob@example.com").status_code == 302


@on_both
def test_sign_up_limit_counts_every_attempt(make_app, app, db, mailbox):
    limited = make_app(IDP_RATELIMIT_SIGNUP="2/hour")
    http = limited.test_client()
    assert sign_up(http, "one@example.com").status_code == 302
    assert sign_up(http, "not-an-email").status_code == 400

    assert_limited(sign_up(http, "two@example.com"))
    assert len(mailbox.messages) == 1


@on_both
@pytest.mark.parametrize("same", ["ip", "account"])
def test_reset_limit(make_app, app, db, user, mailbox, same):
    limited = make_app(IDP_RATELIMIT_RESET="2/hour")

    def ask(n: int):
        ip = "10.0.0.1" if same == "ip" else f"10.0.0.{n}"
        email = user.email if same == "account" else f"n{n}@example.com"
        return forgot(browser_at(limited, ip).http, email)

    assert ask(1).status_code == ask(2).status_code == 200
    assert_limited(ask(3))


@on_both
def test_verify_limit_counts_failures(make_app, app, db, mailbox):
    from tests.pages.flows import enter_code

    limited = make_app(IDP_RATELIMIT_VERIFY="2/minute")
    http = limited.test_client()
    sign_up(http, "new@example.com")
    for _ in range(2):
        assert enter_code(http, "not a code").status_code == 400
    assert_limited(enter_code(http, "not a code"))


def _client_credentials(http, shop, secret):
    raw = base64.b64encode(f"{shop['client_id']}:{secret}".encode()).decode()
    return http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {raw}"},
    )


@on_both
def test_token_endpoint_limits_failed_client_authentication(make_app, app, apps):
    shop = apps.confidential("shop")
    http = make_app(IDP_RATELIMIT_CLIENT_AUTH="3/minute").test_client()
    for _ in range(4):  # successes do not count
        assert (
            http.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, headers=basic(shop)
            ).status_code
            == 200
        )
    for _ in range(3):
        response = _client_credentials(http, shop, "wrong-secret")
        assert response.status_code == 401
        assert response.json["error"] == "invalid_client"

    response = _client_credentials(http, shop, shop["client_secret"])

    assert response.status_code == 429
    assert response.json == {
        "error": "rate_limited",
        "error_description": "Too many attempts. Wait a little and try again.",
    }
    assert int(response.headers["Retry-After"]) > 0


def _three_failures_on_two_nodes(make_app):
    """Three failed sign-ins spread over two nodes; the fourth attempt's response."""
    one, two = (make_app(IDP_RATELIMIT_LOGIN_ACCOUNT="3/minute") for _ in range(2))
    for node in (one, one, two):
        assert browser_at(node).login(password=WRONG).status_code == 401
    return browser_at(two).login(password=WRONG)


@pytest.mark.redis(only=True)
def test_counters_are_shared_through_redis(make_app, app, db, user):
    """With Redis every node counts together."""
    assert_limited(_three_failures_on_two_nodes(make_app))
    redis = app.extensions["idp_redis"]
    assert any(b"ratelimit" in key for key in redis.scan_iter("LIMITS:*"))


def test_without_redis_each_process_counts_alone(make_app, app, db, user):
    assert _three_failures_on_two_nodes(make_app).status_code == 401
