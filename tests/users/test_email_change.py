"""Changing the address from the account page (idp.users.email_change, pages.account_email):
a code to the new address, the old one told, nothing changed before the code, and the same
answers whether or not the new address is taken."""

import re

import pytest
from sqlalchemy import select

from idp.audit.models import AuditEvent
from idp.users import services as users
from idp.users.errors import WrongCode
from idp.users.models import User
from tests.helpers import PASSWORD, Browser, csrf_of
from tests.pages.flows import submit
from tests.pages.html import alerts, text


@pytest.fixture
def signed_in(client, user):
    assert Browser(client).login().status_code == 302
    return client


def ask(http, new_email: str, password: str = PASSWORD):
    return submit(http, "/account", "/account/email", new_email=new_email, email_password=password)


def enter(http, code: str, action: str = "verify"):
    page = http.get("/account/email/verify")
    form = {"csrf_token": csrf_of(page.data), "code": code, "action": action}
    return http.post("/account/email/verify", data=form)


def code_sent(mailbox) -> str:
    """The code in the first message of the test (the one to the new address)."""
    body = mailbox.messages[0].get_payload(decode=True).decode()
    return re.search(r"\b(\d{6})\b", body).group(1)


def address(db, user) -> str:
    db.session.rollback()
    return db.session.get(User, user.id).email


def recipients(mailbox) -> list[tuple[str, str]]:
    return [(m["To"], m["Subject"]) for m in mailbox.messages]


def test_the_address_changes_only_after_the_code(signed_in, db, user, mailbox):
    response = ask(signed_in, "  Ada.New@Example.com ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/email/verify"
    assert recipients(mailbox) == [
        ("ada.new@example.com", mailbox.messages[0]["Subject"]),
        ("ada@example.com", "A change of your email address was asked for"),
    ]
    code = code_sent(mailbox)
    assert address(db, user) == "ada@example.com"  # nothing changed yet
    page = signed_in.get("/account/email/verify")
    assert "We sent a 6-digit code to ada.new@example.com" in text(page)

    assert enter(signed_in, "000000" if code != "000000" else "111111").status_code == 400
    assert address(db, user) == "ada@example.com"

    done = enter(signed_in, code)
    assert done.status_code == 302 and done.headers["Location"] == "/account"
    assert "Your email address is now ada.new@example.com." in text(signed_in.get("/account"))
    assert address(db, user) == "ada.new@example.com"
    assert recipients(mailbox)[-1] == ("ada@example.com", "Your email address was changed")
    events = [e.event for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert events[-2:] == ["email.change_requested", "email.changed"]
    assert Browser(signed_in).login(email="ada.new@example.com").status_code == 302
    # The code is spent: the verify page has nothing left to prove.
    assert signed_in.get("/account/email/verify").status_code == 302


def test_a_taken_address_is_answered_as_a_free_one(signed_in, db, user, mailbox):
    users.create("grace@example.com", PASSWORD, verified=True)

    taken = ask(signed_in, "grace@example.com")
    assert (taken.status_code, taken.headers["Location"]) == (302, "/account/email/verify")
    page = signed_in.get("/account/email/verify")
    assert "We sent a 6-digit code to grace@example.com" in text(page)
    # Its owner is told, not sent a code; the requester's own inbox hears the same.
    assert recipients(mailbox) == [
        ("grace@example.com", "Someone tried to use your address"),
        ("ada@example.com", "A change of your email address was asked for"),
    ]
    for _ in range(5):
        assert alerts(enter(signed_in, "123456")) == [
            "That code is not right. Check the 6 digits in our latest email and try again."
        ]
    assert alerts(enter(signed_in, "123456")) == [
        "Too many wrong tries for this code. Ask for a new code below."
    ]
    assert address(db, user) == "ada@example.com"


@pytest.mark.parametrize(
    ("new_email", "password", "field", "message"),
    [
        ("not an address", PASSWORD, "new_email", "Enter a valid email address."),
        ("ada@example.com", PASSWORD, "new_email", "This is already your email address."),
        ("ada.new@example.com", "wrong password!", "email_password", "Your password is incorrect."),
    ],
)
def test_refusals_are_inline(signed_in, db, user, mailbox, new_email, password, field, message):
    response = ask(signed_in, new_email, password)
    assert response.status_code == 400
    assert alerts(response) == [message]
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert mailbox.messages == []
    assert address(db, user) == "ada@example.com"


def test_a_sign_up_code_does_not_change_the_address(signed_in, db, user, mailbox):
    """The codes share a table; each is bound to its purpose and address."""
    ask(signed_in, "ada.new@example.com")
    code = code_sent(mailbox)
    with pytest.raises(WrongCode):
        users.verify_email(db.session.get(User, user.id), code)
    db.session.rollback()
    assert address(db, user) == "ada@example.com"


def test_keep_the_current_address(signed_in, db, user, mailbox):
    ask(signed_in, "ada.new@example.com")
    response = submit(signed_in, "/account/email/verify", "/account/email/cancel")
    assert response.status_code == 302
    assert "Your email address was not changed." in text(signed_in.get("/account"))
    assert signed_in.get("/account/email/verify").status_code == 302
    assert address(db, user) == "ada@example.com"


def test_resend_waits_then_sends_a_new_code_and_the_old_one_dies(signed_in, db, user, mailbox):
    from datetime import timedelta

    from idp.users.codes import RESEND_COOLDOWN_SECONDS
    from idp.users.models import EmailVerification

    ask(signed_in, "ada.new@example.com")
    first = code_sent(mailbox)
    too_soon = enter(signed_in, "", action="resend")
    assert too_soon.status_code == 302
    page = signed_in.get(too_soon.headers["Location"])
    assert "We sent you a code a moment ago." in text(page)
    assert len(mailbox.messages) == 2  # no new mail
    for row in db.session.scalars(select(EmailVerification)):
        row.created_at -= timedelta(seconds=RESEND_COOLDOWN_SECONDS + 1)
    db.session.commit()

    enter(signed_in, "", action="resend")
    assert mailbox.messages[-1]["To"] == "ada.new@example.com"
    second = re.search(r"\b(\d{6})\b", mailbox.messages[-1].get_payload(decode=True).decode())[1]
    if first != second:
        assert enter(signed_in, first).status_code == 400  # the earlier code no longer works
    assert enter(signed_in, second).status_code == 302
    assert address(db, user) == "ada.new@example.com"
