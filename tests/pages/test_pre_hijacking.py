"""Account pre-hijacking: signing up first with someone else's address wins nothing.

The attacker signs up victim@example.com with a password of their choosing and cannot
read the victim's mail.  The victim later signs up with the same address and verifies
it.  The account they then use must not know the attacker's password, and no session
the attacker opened may survive."""

from __future__ import annotations

from sqlalchemy import func, select

from idp.users.models import CrossAppSession, User
from tests.helpers import Browser, mail_code
from tests.pages.flows import enter_code, sign_up

VICTIM = "victim@example.com"
ATTACKERS = "the attacker's chosen password"
VICTIMS = "the victim's own passphrase"


def signed_in(http) -> bool:
    return http.get("/account").status_code == 200


def test_the_attackers_password_and_sessions_do_not_survive(app, db, mailbox, new_browser):
    attacker, victim = new_browser(), new_browser()
    attacker.environ_base["REMOTE_ADDR"] = "10.0.0.66"  # sign-up limits count per IP
    assert sign_up(attacker, VICTIM, ATTACKERS, display_name="Mallory").status_code == 302

    # The attacker knows the password, but an unproved address opens no session.
    response = Browser(attacker).login(VICTIM, ATTACKERS)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/verify")
    assert not signed_in(attacker)

    # The victim signs up as anyone would, and proves the address with the newest code.
    assert sign_up(victim, VICTIM, VICTIMS, display_name="Vic").status_code == 302
    assert enter_code(victim, mail_code(mailbox)).status_code == 302
    assert signed_in(victim)

    db.session.rollback()
    account = db.session.scalar(select(User).where(User.email == VICTIM))
    assert (account.email_verified, account.display_name) == (True, "Vic")
    assert Browser(new_browser()).login(VICTIM, ATTACKERS).status_code == 401
    assert Browser(new_browser()).login(VICTIM, VICTIMS).status_code == 302
    assert not signed_in(attacker)


def test_a_sign_up_for_an_unverified_address_answers_as_for_a_new_one(mailbox, new_browser):
    """Replacing an unverified account is not enumerable: same answer, same mail."""
    first, again, fresh = new_browser(), new_browser(), new_browser()
    for http, ip in ((first, "10.0.0.1"), (again, "10.0.0.2"), (fresh, "10.0.0.3")):
        http.environ_base["REMOTE_ADDR"] = ip
    sign_up(first, VICTIM, ATTACKERS)

    replaced = sign_up(again, VICTIM, VICTIMS)
    mailed_replaced = mailbox.messages[-1]["Subject"]
    new = sign_up(fresh, "newcomer@example.com", VICTIMS)
    mailed_new = mailbox.messages[-1]["Subject"]

    assert replaced.status_code == new.status_code == 302
    assert replaced.headers["Location"] == new.headers["Location"]
    assert mailed_replaced.startswith("Your verification code")
    assert mailed_new.startswith("Your verification code")


def test_earlier_codes_die_when_the_address_is_signed_up_again(mailbox, new_browser):
    attacker, victim = new_browser(), new_browser()
    attacker.environ_base["REMOTE_ADDR"] = "10.0.0.66"
    sign_up(attacker, VICTIM, ATTACKERS)
    first_code = mail_code(mailbox)
    sign_up(victim, VICTIM, VICTIMS)

    assert enter_code(victim, first_code).status_code == 400
    assert enter_code(victim, mail_code(mailbox)).status_code == 302


def test_verifying_ends_every_other_session(app, db, user, mailbox, new_browser):
    """Sessions opened before the address was proved end when it is (a session still
    signed in as the unverified account: made directly, as older releases allowed)."""
    from idp.users import sessions

    user.email_verified = False
    db.session.commit()
    with app.test_request_context():
        sessions.start(user)  # another browser's session, opened before the proof
    verifier = new_browser()
    assert Browser(verifier).login().status_code == 302  # leads to /verify only
    assert enter_code(verifier, _fresh_code(verifier, mailbox)).status_code == 302

    db.session.rollback()
    live = select(func.count()).where(
        CrossAppSession.user_id == user.id, CrossAppSession.revoked_at.is_(None)
    )
    assert db.session.scalar(live) == 1  # the verifying browser's own
    assert signed_in(verifier)


def _fresh_code(http, mailbox) -> str:
    from tests.pages.flows import resend_code

    assert resend_code(http).status_code == 200
    return mail_code(mailbox)
