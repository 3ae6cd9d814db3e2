"""Sign-up: a 6-digit code by real SMTP, verification, and no account enumeration."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from idp.core.db_types import utcnow
from idp.core.defaults import DEFAULTS
from idp.users.errors import CodeAttemptsExhausted, ExpiredCode, WrongCode
from idp.users.models import EmailVerification, User
from tests.helpers import PASSWORD, mail_code
from tests.pages.flows import cool_down, enter_code, resend_code, sign_up
from tests.pages.html import alerts, read, text

NEW = "new@example.com"
# An authorization request to resume after verification (any of our own paths).
RESUME = "/oauth/authorize?client_id=shop&response_type=code&state=s1"


def account(db, email: str) -> User | None:
    db.session.rollback()  # see what the requests committed
    return db.session.scalar(select(User).where(User.email == email))


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_code_is_mailed_and_verifying_resumes_at_return_to(client, db, mailbox):
    response = sign_up(client, NEW, display_name="Nia", return_to=RESUME)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/verify?")

    [message] = mailbox.messages
    assert message["To"] == NEW
    code = mail_code(mailbox)
    assert re.fullmatch(r"\d{6}", code)
    assert code in message["Subject"]
    assert not account(db, NEW).email_verified

    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert f"We sent a 6-digit code to {NEW}" in text(page)

    verified = enter_code(client, code, return_to=RESUME)
    assert verified.status_code == 302
    assert verified.headers["Location"] == RESUME
    user = account(db, NEW)
    assert user.email_verified and user.display_name == "Nia"
    assert client.get("/account").status_code == 200  # and the browser is signed in


@pytest.mark.parametrize("typed", ["wrong", "", "12345", "1234567", "abcdef"])
def test_wrong_code_is_an_inline_error(client, db, mailbox, typed):
    sign_up(client, NEW)
    code = mail_code(mailbox)
    attempt = other_code(code) if typed == "wrong" else typed

    response = enter_code(client, attempt)

    assert response.status_code == 400
    assert alerts(response) == [WrongCode.description]
    assert not account(db, NEW).email_verified
    assert enter_code(client, code).status_code == 302  # one miss does not burn the code


@pytest.mark.parametrize("maximum", [1, 3])
def test_attempts_are_bounded_then_even_the_right_code_fails(make_app, app, db, mailbox, maximum):
    http = make_app(IDP_EMAIL_CODE_MAX_ATTEMPTS=maximum).test_client()
    sign_up(http, NEW)
    code = mail_code(mailbox)
    for _ in range(maximum):
        assert enter_code(http, other_code(code)).status_code == 400

    response = enter_code(http, code)

    assert response.status_code == 400
    assert alerts(response) == [CodeAttemptsExhausted.description]
    assert not account(db, NEW).email_verified


def test_expired_code_fails(client, db, mailbox):
    sign_up(client, NEW)
    code = mail_code(mailbox)
    db.session.execute(update(EmailVerification).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()

    response = enter_code(client, code)

    assert response.status_code == 400
    assert alerts(response) == [ExpiredCode.description]
    assert not account(db, NEW).email_verified


def test_a_new_code_invalidates_the_old_one(client, db, mailbox):
    sign_up(client, NEW)
    old = mail_code(mailbox)
    cool_down(db)

    resent = resend_code(client)
    assert resent.status_code == 200
    assert f"We sent a new code to {NEW}." in text(resent)
    assert len(mailbox.messages) == 2
    new = mail_code(mailbox)

    if new != old:  # one chance in a million that the codes coincide
        refused = enter_code(client, old)
        assert refused.status_code == 400
        assert alerts(refused) == [WrongCode.description]
    assert enter_code(client, new).status_code == 302
    assert account(db, NEW).email_verified


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        (NEW, "too-short", "Use at least 10 characters."),
        (NEW, "x" * 1025, "Use at most 1024 characters."),
        (NEW, NEW.upper(), "Your password must not be your email address."),
        ("not-an-email", PASSWORD, "Enter a valid email address."),
        ("", PASSWORD, "Enter a valid email address."),
        ("nia@localhost", PASSWORD, "Enter a valid email address."),
        ("n ia@example.com", PASSWORD, "Enter a valid email address."),
        ("a" * 65 + "@example.com", PASSWORD, "Enter a valid email address."),
        # Header separators would add recipients to the mail.
        ("nia,eve@example.com", PASSWORD, "Enter a valid email address."),
        ("nia@example.com,eve.example", PASSWORD, "Enter a valid email address."),
        ("Eve <eve@example.com>", PASSWORD, "Enter a valid email address."),
    ],
)
def test_invalid_input_is_shown_in_the_page(client, db, mailbox, email, password, message):
    response = sign_up(client, email, password, display_name="Nia")

    assert response.status_code == 400
    assert alerts(response) == [message]
    assert b"alert(" not in response.data
    page = read(response.data)
    [typed] = [a for a in page.all("input") if a.get("name") == "email"]
    assert typed["value"] == email  # kept, so the person only fixes what is wrong
    assert db.session.scalar(select(User)) is None
    assert mailbox.messages == []


def _same_text(response, address: str) -> str:
    # The resend countdown is computed per request: a second may tick between the two.
    return re.sub(r"\b\d+ seconds?\b", "<wait>", text(response).replace(address, "<address>"))


def _cookies_set(response) -> list[str]:
    """Set-Cookie headers without their values: names and attributes only."""
    return sorted(
        re.sub(r"^([^=]+)=[^;]*", r"\1=", header)
        for header in response.headers.getlist("Set-Cookie")
    )


# What a browser can do after sign-up; none of it may tell the two cases apart.
NEXT_STEPS = {
    "verify page": lambda http: http.get("/verify"),
    "wrong code": lambda http: enter_code(http, "000000"),
    "as many wrong codes as allowed": lambda http: [
        enter_code(http, "000000") for _ in range(DEFAULTS["IDP_EMAIL_CODE_MAX_ATTEMPTS"])
    ][-1],
    "one more wrong code than allowed": lambda http: [
        enter_code(http, "000000") for _ in range(DEFAULTS["IDP_EMAIL_CODE_MAX_ATTEMPTS"] + 1)
    ][-1],
    "new code": lambda http: resend_code(http),
    "two new codes in a row": lambda http: [resend_code(http), resend_code(http)][-1],
    "account page": lambda http: http.get("/account"),
    "sign-out page": lambda http: http.get("/logout"),
    "sign-in page": lambda http: http.get("/login"),
}


@pytest.mark.parametrize("step", NEXT_STEPS)
def test_existing_address_looks_exactly_like_a_new_sign_up(app, db, user, mailbox, step):
    fresh, taken = app.test_client(), app.test_client()
    taken.environ_base["REMOTE_ADDR"] = "10.0.0.2"  # rate limits count per IP

    new_response = sign_up(fresh, NEW, "another long password")
    taken_response = sign_up(taken, user.email, "another long password")

    assert new_response.status_code == taken_response.status_code == 302
    assert new_response.headers["Location"] == taken_response.headers["Location"]
    assert _cookies_set(new_response) == _cookies_set(taken_response)
    after_new, after_taken = NEXT_STEPS[step](fresh), NEXT_STEPS[step](taken)
    assert after_new.status_code == after_taken.status_code
    assert after_new.headers.get("Location") == after_taken.headers.get("Location")
    assert _same_text(after_new, NEW) == _same_text(after_taken, user.email)


def test_existing_address_mails_its_owner_and_changes_nothing(client, db, user, mailbox):
    before = user.password_hash

    sign_up(client, user.email.upper(), "another long password")

    [message] = mailbox.messages
    assert message["To"] == user.email
    assert message["Subject"] == "Someone tried to sign up with your address"
    assert not re.search(r"\b\d{6}\b", message.get_payload(decode=True).decode())
    assert account(db, user.email).password_hash == before
    assert db.session.scalar(select(EmailVerification)) is None


def test_a_second_resend_within_the_cooldown_mails_nothing(client, db, mailbox):
    sign_up(client, NEW)

    too_soon = resend_code(client)
    assert too_soon.status_code == 200
    assert "We sent you a code a moment ago." in text(too_soon)
    [countdown] = [p for p in read(too_soon.data).all("p") if p.get("data-blocks") == "#resend"]
    assert 0 < int(countdown["data-countdown"]) <= 30
    assert len(mailbox.messages) == 1  # the sign-up's only

    cool_down(db)
    assert f"We sent a new code to {NEW}." in text(resend_code(client))
    assert resend_code(client).status_code == 200  # and at once again: within the cooldown
    assert len(mailbox.messages) == 2


def test_the_code_page_offers_a_different_address(client, db, mailbox):
    sign_up(client, NEW, client_id="shop")
    page = client.get("/verify?client_id=shop")
    [link] = [a for a in read(page.data).all("a") if a.get("id") == "different-email"]
    assert link["href"].startswith("/signup?") and "client_id=shop" in link["href"]


@pytest.mark.parametrize(
    ("email", "password", "given_back"),
    [(NEW, "short", ""), ("nia@", PASSWORD, PASSWORD), ("x" * 300, PASSWORD, PASSWORD)],
    ids=["weak password", "invalid email", "long email"],
)
def test_the_password_is_given_back_only_when_it_is_not_what_was_refused(
    client, db, email, password, given_back
):
    """Decision (issue 16): a refused sign-up re-fills the password unless the password is
    the problem; the page is sent with Cache-Control: no-store."""
    response = sign_up(client, email, password)
    assert response.status_code == 400
    assert response.headers["Cache-Control"] == "no-store"
    [typed] = [a for a in read(response.data).all("input") if a.get("name") == "password"]
    assert typed["value"] == given_back
