"""Sign-in: the SSO cookie, unverified accounts, equal failures, rehash, safe return_to."""

import statistics
import time
from urllib.parse import urlsplit

import pytest
from argon2 import extract_parameters
from sqlalchemy import select

from idp.audit.models import AuditEvent
from idp.users.errors import InvalidCredentials
from idp.users.models import CrossAppSession, User
from tests.helpers import PASSWORD, Browser, make_user, query_of
from tests.pages.flows import session_cookie
from tests.pages.html import alerts, text


def stored_hash(db, email: str) -> str:
    db.session.rollback()
    return db.session.scalar(select(User.password_hash).where(User.email == email))


@pytest.mark.parametrize(
    ("issuer", "secure"), [("https://idp.test", True), ("http://127.0.0.1:5000", False)]
)
def test_success_sets_the_sso_cookie(make_app, app, db, user, issuer, secure):
    http = make_app(IDP_ISSUER=issuer).test_client()

    response = Browser(http).login()

    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("idp_session=")]
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    assert {"httponly", "path", "max-age"} <= attributes
    assert "samesite=lax" in header.lower()
    assert ("secure" in attributes) is secure
    cookie = session_cookie(http, app)
    assert len(cookie.value) >= 43  # 256 bits
    assert db.session.scalar(select(CrossAppSession.user_id)) == user.id
    assert http.get("/account").status_code == 200


def test_unverified_account_is_sent_to_verify(client, db, mailbox):
    make_user("una@example.com", verified=False)
    resume = "/oauth/authorize?client_id=shop&response_type=code"

    response = Browser(client).login("una@example.com", return_to=resume)

    assert response.status_code == 302
    location = response.headers["Location"]
    assert urlsplit(location).path == "/verify"
    assert query_of(location)["return_to"] == resume
    page = client.get(location)
    assert page.status_code == 200
    assert "We sent a 6-digit code to una@example.com" in text(page)


def _failed_page(response, email: str) -> str:
    return text(response).replace(email, "")


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("ada@example.com", "wrong password!"),
        ("ada@example.com", ""),
        ("ADA@example.com", PASSWORD.upper()),
        ("nobody@example.com", PASSWORD),
        ("nobody@example.com", ""),
        ("not-an-email", PASSWORD),
        ("", ""),
    ],
)
def test_wrong_password_and_unknown_address_look_alike(client, db, user, email, password):
    response = Browser(client).login(email, password)

    assert response.status_code == 401
    assert alerts(response) == [InvalidCredentials.description]
    assert session_cookie(client, client.application) is None
    reference = Browser(client).login("ada@example.com", "wrong password!")
    assert _failed_page(response, email) == _failed_page(reference, "ada@example.com")


def test_unknown_address_spends_an_argon2_verification(make_app, app, db):
    """An unknown address takes about as long as a wrong password (no timing oracle)."""
    slow = make_app(
        IDP_ARGON2_TIME_COST=3,
        IDP_ARGON2_MEMORY_COST=32768,
        IDP_ARGON2_PARALLELISM=1,
        IDP_RATELIMIT_ENABLED=0,
    )
    with slow.app_context():
        make_user("slow@example.com")
    browser = Browser(slow.test_client())
    took = {"slow@example.com": [], "nobody@example.com": []}
    browser.login("warm-up@example.com", "wrong password!")  # builds the dummy hash once
    for _ in range(5):
        for email, times in took.items():  # interleaved: the machine's load hits both alike
            start = time.perf_counter()
            assert browser.login(email, "wrong password!").status_code == 401
            times.append(time.perf_counter() - start)

    wrong_password = statistics.median(took["slow@example.com"])
    unknown = statistics.median(took["nobody@example.com"])
    assert unknown >= 0.5 * wrong_password, (unknown, wrong_password)


@pytest.mark.parametrize("password", [PASSWORD, "wrong password!"])
def test_disabled_account_cannot_sign_in(client, db, user, password):
    user.disabled = True
    db.session.commit()

    response = Browser(client).login(password=password)

    assert response.status_code == 401
    assert alerts(response) == [InvalidCredentials.description]
    assert session_cookie(client, client.application) is None
    assert db.session.scalar(select(CrossAppSession)) is None


def test_new_argon2_parameters_rehash_at_the_next_sign_in(make_app, app, db, user):
    before = extract_parameters(stored_hash(db, user.email))
    stronger = make_app(IDP_ARGON2_TIME_COST=2, IDP_ARGON2_MEMORY_COST=16384)
    browser = Browser(stronger.test_client())

    assert browser.login(password="wrong password!").status_code == 401
    assert extract_parameters(stored_hash(db, user.email)) == before  # not on a failure

    assert browser.login().status_code == 302

    after = extract_parameters(stored_hash(db, user.email))
    assert (after.time_cost, after.memory_cost) == (2, 16384)
    assert (before.time_cost, before.memory_cost) == (1, 8192)
    assert Browser(stronger.test_client()).login().status_code == 302  # still the password


def test_unchanged_parameters_keep_the_hash(client, db, user):
    before = stored_hash(db, user.email)
    assert Browser(client).login().status_code == 302
    assert stored_hash(db, user.email) == before


def test_success_and_failure_are_audited(client, db, user):
    Browser(client).login(password="wrong password!")
    Browser(client).login()
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.event, e.user_id, e.detail) for e in events] == [
        ("login.failed", user.id, {"reason": "bad_password"}),
        ("login.succeeded", user.id, {}),
    ]


@pytest.mark.parametrize(
    "return_to",
    [
        "https://evil.example",
        "https://evil.example/account",
        "//evil.example",
        "//evil.example/account",
        "/\\evil.example",
        "/\\/evil.example",
        "\\\\evil.example",
        "///evil.example",
        "/account\\..\\evil",
        "javascript:alert(1)",
        "/oauth/authorize",  # the authorization endpoint only with a request
        "/login",
        "",
    ],
)
def test_foreign_return_to_falls_back_to_the_account(client, db, user, return_to):
    response = Browser(client).login(return_to=return_to)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"


@pytest.mark.parametrize(
    "return_to",
    ["/account", "/purchase?client_id=shop", "/oauth/authorize?client_id=shop&state=x"],
)
def test_our_own_return_to_is_followed(client, db, user, return_to):
    response = Browser(client).login(return_to=return_to)
    assert response.status_code == 302
    assert response.headers["Location"] == return_to
