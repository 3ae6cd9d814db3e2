"""Rate limits: failed sign-ins per IP and per account, sign-up, reset, client auth."""

import base64

import pytest
from limits import parse

from idp.ui.waits import in_words
from tests.helpers import PASSWORD, Browser, csrf_of, make_user
from tests.pages.flows import forgot, sign_up
from tests.pages.html import read

# Counters live in Flask-Limiter's storage, Redis when configured, else process memory:
# the tests marked ``redis`` hold on both.
on_both = pytest.mark.redis

WRONG = "wrong password!"


def browser_at(app, ip: str = "127.0.0.1") -> Browser:
    http = app.test_client()
    http.environ_base["REMOTE_ADDR"] = ip
    return Browser(http)


def assert_limited(response, **typed) -> None:
    """A 429 that shows the refused form again, filled in as typed, saying the wait that
    ``Retry-After`` says (in words, and in seconds for the page's countdown)."""
    assert response.status_code == 429
    retry_after = int(response.headers["Retry-After"])
    assert retry_after > 0
    page = read(response.data)
    [alert] = page.alerts
    [shown] = [
        int(p["data-countdown"])
        for p in page.all("p")
        if p.get("data-done") == "You can try again now."
    ]
    # Two readings of one clock, each rounded up to a second, on a busy machine: the
    # same wait within two seconds.
    assert abs(shown - retry_after) <= 2
    assert alert.startswith("Too many attempts.")
    assert f"You can try again in {in_words(shown)}" in alert
    assert [f for f in page.all("form") if f.get("method") == "post"]  # not a dead end
    values = {f.get("name"): f.get("value") for f in page.all("input")}
    for name, value in typed.items():
        assert values[name] == value


@on_both
def test_failed_sign_ins_per_account(make_app, app, db, user):
    limited = make_app(IDP_RATELIMIT_LOGIN_ACCOUNT="3/minute")
    for ip in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):  # spread over IPs: the account counts
        assert browser_at(limited, ip).login(password=WRONG).status_code == 401

    for password in (WRONG, PASSWORD):
        refused = browser_at(limited, "10.0.0.4").login(" ADA@example.com", password)
        assert_limited(refused, email=" ADA@example.com")


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

    make_user("bob@example.com")
    limited = make_app(IDP_RATELIMIT_LOGIN_ACCOUNT="3/minute")
    browser = browser_at(limited)
    for _ in range(3):
        browser.login(password=WRONG)
    assert_limited(browser.login())

    assert browser.login("bob@example.com", WRONG).status_code == 401
    assert browser.login("bob@example.com").status_code == 302


@on_both
def test_sign_up_limit_counts_only_sign_ups_that_went_through(make_app, app, db, user, mailbox):
    """An account created or a mail sent is what an attacker gains; a typo costs nothing."""
    limited = make_app(IDP_RATELIMIT_SIGNUP="2/hour")
    http = limited.test_client()
    assert sign_up(http, "one@example.com").status_code == 302
    for _ in range(5):
        assert sign_up(http, "not-an-email").status_code == 400
        assert sign_up(http, "two@example.com", "short").status_code == 400
    assert sign_up(http, user.email).status_code == 302  # a taken address: its owner is mailed

    refused = sign_up(http, "two@example.com", PASSWORD, display_name="Two")
    assert_limited(refused, email="two@example.com", display_name="Two", password=PASSWORD)
    assert len(mailbox.messages) == 2


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


def _at(app, ip: str):
    http = app.test_client()
    http.environ_base["REMOTE_ADDR"] = ip
    return http


def _fail(http, shop, times: int) -> None:
    for _ in range(times):
        response = _client_credentials(http, shop, "wrong-secret")
        assert response.status_code == 401
        assert response.json["error"] == "invalid_client"


def assert_rate_limited(response) -> int:
    """The 429 answer; its Retry-After in seconds."""
    assert response.status_code == 429
    assert response.json == {
        "error": "rate_limited",
        "error_description": "Too many attempts. Wait a little and try again.",
    }
    return int(response.headers["Retry-After"])


@on_both
def test_failed_client_authentication_locks_that_client_out(make_app, app, apps):
    shop = apps.confidential("shop")
    http = make_app(IDP_RATELIMIT_CLIENT_AUTH="3/minute").test_client()
    for _ in range(4):  # successes do not count
        assert _client_credentials(http, shop, shop["client_secret"]).status_code == 200
    _fail(http, shop, 3)

    retry = assert_rate_limited(_client_credentials(http, shop, shop["client_secret"]))
    assert 0 < retry <= 61


@on_both
def test_each_lockout_in_a_row_lasts_longer(make_app, app, apps):
    shop = apps.confidential("shop")
    limited = make_app(IDP_RATELIMIT_CLIENT_AUTH="3/minute", IDP_CLIENT_LOCKOUT_SECONDS=100)
    http = limited.test_client()
    guard = limited.extensions["idp_client_auth_guard"]
    lockouts = []
    for _ in range(3):
        _fail(http, shop, 3)
        lockouts.append(assert_rate_limited(_client_credentials(http, shop, "wrong-secret")))
        # The lockout has run out and a new window begins.
        guard.clients.clear()
        guard.counter.clear(parse("3/minute"), "client-auth", "client", "shop")
    assert [round(seconds, -1) for seconds in lockouts] == [100, 200, 400]


@on_both
def test_a_locked_out_client_does_not_lock_out_others_behind_the_same_ip(make_app, app, apps):
    shop, blog = apps.confidential("shop"), apps.confidential("blog")
    http = _at(make_app(IDP_RATELIMIT_CLIENT_AUTH="3/minute"), "10.0.0.1")
    _fail(http, shop, 3)
    assert_rate_limited(_client_credentials(http, shop, shop["client_secret"]))

    assert _client_credentials(http, blog, blog["client_secret"]).status_code == 200
    _fail(http, blog, 1)  # and blog's own failures still answer 401
    assert _client_credentials(http, blog, blog["client_secret"]).status_code == 200


@on_both
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/cross-app/auth", {"code": "x", "redirect_uri": "https://shop.example/cb"}),
        ("/api/cross-app/refresh-token", {"refresh_token": "x"}),
        ("/api/cross-app/validate-token", {"token": "x"}),
        ("/oauth/introspect", {"token": "x"}),
        ("/oauth/revoke", {"token": "x"}),
    ],
)
def test_every_endpoint_that_authenticates_clients_is_limited(make_app, app, apps, path, body):
    shop = apps.confidential("shop")
    http = make_app(IDP_RATELIMIT_CLIENT_AUTH="3/minute").test_client()

    def send(secret):
        credentials = {**body, "client_id": "shop", "client_secret": secret}
        if path.startswith("/oauth/"):
            return http.post(path, data=credentials)
        return http.post(path, json=credentials)

    for _ in range(3):
        assert send("wrong-secret").status_code == 401
    assert_rate_limited(send(shop["client_secret"]))


@on_both
def test_unknown_client_ids_are_capped_per_ip(make_app, app, apps):
    shop = apps.confidential("shop")
    limited = make_app(IDP_RATELIMIT_CLIENT_AUTH_UNKNOWN="3/minute")
    http = _at(limited, "10.0.0.1")
    for n in range(3):
        _fail(http, {"client_id": f"nobody-{n}"}, 1)

    assert_rate_limited(_client_credentials(http, {"client_id": "nobody-4"}, "secret"))
    assert _client_credentials(http, shop, shop["client_secret"]).status_code == 200
    _fail(_at(limited, "10.0.0.2"), {"client_id": "nobody-4"}, 1)


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


@on_both
@pytest.mark.parametrize(
    ("path", "fields", "setting"),
    [
        ("/account/password", {"current_password": WRONG, "new_password": "a new passphrase!"},
         "IDP_RATELIMIT_LOGIN_ACCOUNT"),
        ("/account/email", {"new_email": "new@example.com", "email_password": WRONG},
         "IDP_RATELIMIT_LOGIN_ACCOUNT"),
        ("/account/delete", {"password": WRONG}, "IDP_RATELIMIT_LOGIN_ACCOUNT"),
    ],
)  # fmt: skip
def test_account_pages_that_take_the_password_limit_failures(
    make_app, app, db, user, path, fields, setting
):
    """A signed-in browser (a borrowed laptop, a stolen cookie) may not guess the
    password through the account page either; its right answers do not count."""
    limited = make_app(**{setting: "2/minute"})
    browser = browser_at(limited)
    assert browser.login().status_code == 302
    page = browser.http.get("/account")
    form = {**fields, "csrf_token": csrf_of(page.data)}
    for _ in range(2):
        assert browser.http.post(path, data=form).status_code == 400
    refused = browser.http.post(path, data=form)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    other = browser_at(limited, "10.9.9.9")  # another account is not affected

    make_user("bob@example.com")
    assert other.login("bob@example.com").status_code == 302
    page = other.http.get("/account")
    assert (
        other.http.post(path, data={**fields, "csrf_token": csrf_of(page.data)}).status_code == 400
    )


@on_both
def test_the_new_address_code_limits_failures(make_app, app, db, user, mailbox):
    limited = make_app(IDP_RATELIMIT_VERIFY="2/minute")
    browser = browser_at(limited)
    assert browser.login().status_code == 302
    page = browser.http.get("/account")
    asked = {"new_email": "new@example.com", "email_password": PASSWORD}
    assert (
        browser.http.post(
            "/account/email", data={**asked, "csrf_token": csrf_of(page.data)}
        ).status_code
        == 302
    )
    form = browser.http.get("/account/email/verify")
    guess = {"code": "000000", "csrf_token": csrf_of(form.data)}
    for _ in range(2):
        assert browser.http.post("/account/email/verify", data=guess).status_code == 400
    assert browser.http.post("/account/email/verify", data=guess).status_code == 429
