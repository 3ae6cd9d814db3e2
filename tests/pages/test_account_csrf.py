"""The account page's newer forms (email change, devices, deletion) refuse a missing or
foreign CSRF token and change nothing; with the page's token they act (the control)."""

import pytest
from sqlalchemy import func, select

from idp.users.models import CrossAppSession, EmailVerification, User
from tests.helpers import PASSWORD, Browser, csrf_of
from tests.pages.html import alerts


def _state(db, mailbox) -> tuple:
    db.session.rollback()
    user = db.session.scalar(select(User))
    live = select(func.count()).where(CrossAppSession.revoked_at.is_(None))
    codes = select(func.count()).select_from(EmailVerification)
    return (
        user.email,
        user.disabled,
        db.session.scalar(live),
        db.session.scalar(codes),
        len(mailbox.messages),
    )


FORMS = {
    "email change": lambda db: (
        "/account/email",
        {"new_email": "new@example.com", "email_password": PASSWORD},
    ),
    "end a session": lambda db: (
        f"/account/sessions/{db.session.scalar(select(CrossAppSession.id))}/end",
        {},
    ),
    "delete": lambda db: ("/account/delete", {"password": PASSWORD}),
}


@pytest.mark.parametrize("token", [None, "not-a-token", "foreign"])
@pytest.mark.parametrize("form", FORMS)
def test_refuses_a_bad_token(app, db, user, mailbox, form, token):
    http = app.test_client()
    assert Browser(http).login().status_code == 302
    url, data = FORMS[form](db)
    if token == "foreign":
        token = csrf_of(app.test_client().get("/login").data)
    if token is not None:
        data["csrf_token"] = token
    before = _state(db, mailbox)

    response = http.post(url, data=data)

    assert response.status_code == 400
    assert alerts(response)[0].startswith("For your safety, the form you sent had expired")
    assert _state(db, mailbox) == before


@pytest.mark.parametrize("form", FORMS)
def test_acts_with_the_pages_token(app, db, user, mailbox, form):
    http = app.test_client()
    assert Browser(http).login().status_code == 302
    url, data = FORMS[form](db)
    before = _state(db, mailbox)
    token = csrf_of(http.get("/account").data)

    response = http.post(url, data={**data, "csrf_token": token})

    assert response.status_code == 302
    assert _state(db, mailbox) != before
