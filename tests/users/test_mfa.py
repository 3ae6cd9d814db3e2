"""Two-step verification with an authenticator app and recovery codes: enrolment from the
account page, the second step of the sign-in, replays, single use, turning it off, and
support's reset.  Codes are computed here with pyotp, as the person's app would."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.audit.models import AuditEvent
from idp.users import factors, totp
from idp.users.models import CrossAppSession, RecoveryCode, TotpFactor
from tests.helpers import PASSWORD, csrf_of
from tests.pages.html import alerts, read

from .mfa_actions import Mfa, at_step, code_at, recovery_codes_of


def events(db, name: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == name)))


def subjects(mailbox) -> list[str]:
    return [m["Subject"] for m in mailbox.messages]


@pytest.fixture
def mfa(signed_in):
    return Mfa(signed_in.http)


@pytest.fixture
def enrolled(mailbox, mfa, monkeypatch):
    """``user`` with an authenticator app on (set up from ``signed_in``'s account page)."""
    secret, codes = mfa.enrol(monkeypatch)
    return secret, codes


def test_setup_shows_a_qr_code_drawn_here_and_the_key_as_text(mfa, user):
    secret = mfa.start()
    page = mfa.http.get("/account/two-step").data.decode()
    assert "<svg" in page and "otpauth" not in page.split("<svg")[0]
    assert secret in page and len(secret) >= 32
    assert 'autocomplete="one-time-code"' in page
    assert not totp.enabled(user)  # not on until a code proves the app holds it


def test_the_secret_is_sealed_at_rest(mfa, db, user):
    secret = mfa.start()
    row = db.session.scalar(select(TotpFactor).where(TotpFactor.user_id == user.id))
    assert secret.encode() not in row.secret_sealed
    assert totp.enrolling_secret(user) == secret


def test_a_wrong_first_code_is_refused_inline(mfa, user, monkeypatch):
    secret = mfa.start()
    at_step(monkeypatch, 0)
    response = mfa.confirm(code_at(secret, 5))
    assert response.status_code == 401
    assert alerts(response) == [str(totp.WrongTotpCode.description)]
    assert not totp.enabled(user)


def test_enrolment_shows_ten_recovery_codes_once_and_mails_and_audits(
    enrolled, db, user, mailbox, mfa
):
    _, codes = enrolled
    assert len(codes) == len(set(codes)) == 10
    stored = db.session.scalars(
        select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)
    )
    assert not set(codes) & set(stored)  # only keyed hashes are kept
    assert totp.enabled(user)
    assert any("added" in s for s in subjects(mailbox))
    assert [e.detail["factor"] for e in events(db, factors.AUDIT_FACTOR_ADDED)] == ["totp"]
    page = mfa.http.get("/account").data.decode()
    assert "10 unused recovery codes left" in page
    assert codes[0] not in page  # shown once, never again


def test_enrolment_upgrades_this_browser_to_two_factors(enrolled, db, user):
    live = db.session.scalars(
        select(CrossAppSession).where(
            CrossAppSession.user_id == user.id, CrossAppSession.revoked_at.is_(None)
        )
    ).all()
    assert [(s.amr, s.acr) for s in live] == [("pwd otp mfa", factors.ACR_2FA)]


def test_sign_in_asks_for_the_code_after_the_password(enrolled, new_browser, app, monkeypatch):
    secret, _ = enrolled
    other = Mfa(new_browser())
    response = other.browser.login()
    assert response.headers["Location"].startswith("/login/second-factor")
    assert other.http.get_cookie(app.config["IDP_SESSION_COOKIE"]) is None
    assert other.http.get("/account").status_code == 302  # not signed in yet
    response = other.second_step(response.headers["Location"], code=code_at(secret, 0))
    assert response.status_code == 302
    assert other.http.get("/account").status_code == 200


def test_a_code_is_accepted_once(enrolled, new_browser, monkeypatch):
    secret, _ = enrolled
    first, second = Mfa(new_browser()), Mfa(new_browser())
    assert first.sign_in(code_at(secret, 0)).status_code == 302
    replay = second.sign_in(code_at(secret, 0))
    assert replay.status_code == 401
    assert alerts(replay) == [str(totp.WrongTotpCode.description)]
    assert second.second_step(code=code_at(secret, 1)).status_code == 302  # the next one


@pytest.mark.parametrize(
    ("steps", "accepted"), [(-2, False), (-1, False), (0, True), (1, True), (2, False)]
)
def test_codes_within_one_step_of_now(enrolled, new_browser, steps, accepted):
    """The enrolment spent step -1, so of the steps around now only 0 and +1 are left."""
    secret, _ = enrolled
    response = Mfa(new_browser()).sign_in(code_at(secret, steps))
    assert (response.status_code == 302) is accepted


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "x" * 5000])
def test_malformed_codes_are_refused(enrolled, new_browser, code):
    assert Mfa(new_browser()).sign_in(code).status_code == 401


def test_a_recovery_code_works_once_and_is_mailed_and_audited(enrolled, new_browser, db, mailbox):
    _, codes = enrolled
    first = Mfa(new_browser())
    assert first.sign_in(recovery=codes[3].upper()).status_code == 302
    assert "A recovery code was used to sign in" in subjects(mailbox)
    assert [e.detail["left"] for e in events(db, factors.AUDIT_RECOVERY_USED)] == [9]
    again = Mfa(new_browser()).sign_in(recovery=codes[3])
    assert again.status_code == 401
    assert events(db, factors.AUDIT_FACTOR_FAILED)[-1].detail["factor"] == "recovery"


def test_new_recovery_codes_need_the_password_and_replace_the_old(enrolled, mfa, new_browser):
    _, old = enrolled
    token = mfa.csrf()
    wrong = mfa.http.post(
        "/account/recovery-codes", data={"codes_password": "nope", "csrf_token": token}
    )
    assert wrong.status_code == 401
    assert "Your password is incorrect." in alerts(wrong)
    made = mfa.http.post(
        "/account/recovery-codes", data={"codes_password": PASSWORD, "csrf_token": token}
    )
    new = recovery_codes_of(made)
    assert len(new) == 10 and not set(new) & set(old)
    assert Mfa(new_browser()).sign_in(recovery=old[0]).status_code == 401
    assert Mfa(new_browser()).sign_in(recovery=new[0]).status_code == 302


def test_turning_it_off_needs_the_password(enrolled, mfa, user, mailbox, db, new_browser):
    token = mfa.csrf()
    wrong = mfa.http.post(
        "/account/two-step/disable", data={"totp_password": "nope", "csrf_token": token}
    )
    assert wrong.status_code == 401 and totp.enabled(user)
    done = mfa.http.post(
        "/account/two-step/disable", data={"totp_password": PASSWORD, "csrf_token": token}
    )
    assert done.status_code == 302
    assert not totp.enabled(user)
    assert any("removed" in s for s in subjects(mailbox))
    assert [e.detail["factor"] for e in events(db, factors.AUDIT_FACTOR_REMOVED)] == ["totp"]
    # No factor left: the recovery codes went with it, and the password alone signs in.
    signed_in = Mfa(new_browser()).browser.login()
    assert not signed_in.headers["Location"].startswith("/login/second-factor")


def test_the_second_step_expires(enrolled, new_browser, app, monkeypatch):
    other = Mfa(new_browser())
    other.browser.login()
    monkeypatch.setitem(app.config, "IDP_SECOND_STEP_TTL", -1)
    assert other.http.get("/login/second-factor").headers["Location"].startswith("/login")


def test_cancel_starts_again(enrolled, new_browser):
    other = Mfa(new_browser())
    other.browser.login()
    page = other.http.get("/login/second-factor")
    response = other.http.post(
        "/login/second-factor/cancel", data={"csrf_token": csrf_of(page.data)}
    )
    assert response.headers["Location"].startswith("/login")
    assert other.http.get("/login/second-factor").headers["Location"].startswith("/login")


def test_support_reset_removes_every_factor_audited(enrolled, runner, user, db, mailbox):
    result = runner.invoke(
        args=["users", "mfa", "reset", "--email", user.email, "--actor", "ops:kim"]
    )
    assert result.exit_code == 0, result.output
    assert "totp" in result.output and "recovery" in result.output
    assert not totp.enabled(user)
    [event] = events(db, factors.AUDIT_RESET)
    assert event.detail == {"actor": "ops:kim", "removed": ["totp", "recovery"]}
    assert any("removed" in s for s in subjects(mailbox))


def test_support_reset_of_an_unknown_address(runner, db):
    result = runner.invoke(args=["users", "mfa", "reset", "--email", "nobody@example.com"])
    assert result.exit_code != 0


# -- the seam other factors plug into ------------------------------------------------------
@pytest.fixture
def other_factor(monkeypatch):
    """A factor registered as a passkey would be, held by every account."""
    kind = factors.SecondFactor("test-key", "Test key", lambda user: True, lambda c: "/test-key")
    monkeypatch.setitem(factors._FACTORS, "test-key", kind)
    return kind


def test_a_registered_factor_alone_is_sent_to_its_page(other_factor, browser, user):
    response = browser.login()
    step = browser.http.get(response.headers["Location"])
    assert step.status_code == 302 and step.headers["Location"] == "/test-key"


def test_a_registered_factor_is_offered_beside_the_app(enrolled, other_factor, new_browser):
    other = Mfa(new_browser())
    location = other.browser.login().headers["Location"]
    page = other.http.get(location).data.decode()
    assert 'href="/test-key" data-factor="test-key"' in page
    assert "Use Test key instead" in page


def test_complete_second_step_opens_the_session_with_both_methods(app, user, db):
    with app.test_request_context("/test-key", method="POST"):
        factors.begin_second_step(user, [factors.PWD], "/account")
        assert factors.pending_user() is user
        done = factors.complete_second_step(factors.HWK)
        assert done.next == "/account"
        response = done.apply(app.response_class())
        assert factors.pending() is None
        with pytest.raises(LookupError):
            factors.complete_second_step(factors.HWK)
    assert app.config["IDP_SESSION_COOKIE"] in response.headers["Set-Cookie"]
    row = db.session.scalar(select(CrossAppSession).where(CrossAppSession.user_id == user.id))
    assert (row.amr, row.acr) == ("pwd hwk mfa", factors.ACR_2FA)
    assert events(db, factors.AUDIT_SECOND_STEP)[-1].detail == {"method": "hwk"}


@pytest.mark.parametrize(
    ("amr", "acr"),
    [
        (["pwd"], factors.ACR_1FA),
        (["hwk"], factors.ACR_1FA),
        (["hwk", "user"], factors.ACR_2FA),  # a passkey with user verification
        (["pwd", "otp"], factors.ACR_2FA),
        (["otp", "hwk"], factors.ACR_1FA),  # two things one has: one kind
    ],
)
def test_levels(amr, acr):
    assert factors.acr_of(amr) == acr
    assert (factors.MFA in factors.combined(amr)) is (acr == factors.ACR_2FA)


def _self_contained(response) -> None:
    """As tests/pages/test_pages.py asks of every hosted page: no inline style (CSP), a
    label for every visible field, never stored, never framed."""
    html_text = response.data.decode()
    assert " style=" not in html_text and "<style" not in html_text
    page = read(response.data)
    labelled = {a.get("for") for a in page.all("label")}
    for field in page.all("input"):
        if field.get("type") not in ("hidden", "submit") and "hidden" not in field:
            assert field.get("id") in labelled, field
    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_the_pages_are_self_contained(mfa, user, monkeypatch, new_browser):
    mfa.start()
    _self_contained(mfa.http.get("/account/two-step"))
    _self_contained(mfa.http.get("/account"))
    secret = totp.enrolling_secret(user)
    at_step(monkeypatch, 0)
    _self_contained(mfa.confirm(code_at(secret, -1)))
    other = Mfa(new_browser())
    location = other.browser.login().headers["Location"]
    _self_contained(other.http.get(location))
    _self_contained(other.http.get(location + "&method=recovery"))


def test_deleting_the_account_removes_its_factors(enrolled, user, db):
    from idp.users import deletion

    deletion.delete_account(user, "test")
    assert db.session.scalars(select(TotpFactor).where(TotpFactor.user_id == user.id)).all() == []
    left = db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all()
    assert left == []
