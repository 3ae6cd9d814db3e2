"""Passkeys without a browser (idp.users.passkeys, pages.passkeys): registration after
the password, passwordless sign-in, the second step, removal; single-use short-lived
challenges bound to the browser, the origin and RP id checked, a cloned credential's
counter refused and audited, JSON refusals with stable codes, no account named."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from idp.audit.models import AuditEvent
from idp.core.db_types import utcnow
from idp.users import factors
from idp.users.models import CrossAppSession, User
from idp.users.passkeys.models import Passkey, PasskeyChallenge
from tests.helpers import PASSWORD, Browser, csrf_of, make_user
from tests.pages.flows import submit
from tests.pages.html import alerts, text

from .passkey_authenticator import SoftAuthenticator, b64url

ISSUER = "https://idp.test"  # the test settings' IDP_ISSUER
RP_ID = "idp.test"


class Ceremonies:
    """A browser's side of the ceremonies: the page's CSRF token in a header, JSON."""

    def __init__(self, http):
        self.http = http
        self.token = csrf_of(http.get("/login").data)

    def post(self, path: str, body=None, **kwargs):
        headers = {"X-CSRFToken": self.token}
        return self.http.post(path, json={} if body is None else body, headers=headers, **kwargs)

    def confirm_password(self, password: str = PASSWORD):
        return submit(self.http, "/account/passkeys/new", password=password)

    def register(self, authenticator, name="Work laptop", origin=None):
        options = self.post("/passkeys/register/options")
        assert options.status_code == 200, options.json
        credential = authenticator.create(options.json, origin=origin)
        return self.post("/passkeys/register", {"credential": credential, "name": name})

    def sign_in(self, authenticator, return_to=None, **get):
        options = self.post("/passkeys/sign-in/options")
        assert options.status_code == 200, options.json
        credential = authenticator.get(options.json, RP_ID, **get)
        return self.post("/passkeys/sign-in", {"credential": credential, "return_to": return_to})


@pytest.fixture
def account(client, user):
    assert Browser(client).login().status_code == 302
    return Ceremonies(client)


@pytest.fixture
def authenticator():
    return SoftAuthenticator(ISSUER)


@pytest.fixture
def registered(account, authenticator):
    """``user`` holding the passkey of ``authenticator``."""
    assert account.confirm_password().status_code == 302
    response = account.register(authenticator)
    assert response.status_code == 200, response.json
    return authenticator


def events(db, name: str) -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == name)))


def passkeys_of(db, user) -> list[Passkey]:
    db.session.rollback()
    return list(db.session.scalars(select(Passkey).where(Passkey.user_id == user.id)))


# -- registration ---------------------------------------------------------------------------
@pytest.mark.postgres
def test_registration_after_the_password(account, authenticator, db, user, mailbox):
    assert account.confirm_password().status_code == 302
    options = account.post("/passkeys/register/options").json
    assert options["rp"] == {"id": RP_ID, "name": RP_ID}
    assert options["attestation"] == "none"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    assert options["user"]["name"] == "ada@example.com"
    credential = authenticator.create(options)
    response = account.post(
        "/passkeys/register", {"credential": credential, "name": " Work  laptop "}
    )
    assert response.status_code == 200
    assert response.json == {"redirect": "/account"}
    assert response.headers["Cache-Control"] == "no-store"
    [passkey] = passkeys_of(db, user)
    assert (passkey.name, passkey.sign_count, passkey.transports) == ("Work laptop", 0, "internal")
    assert passkey.last_used_at is None
    [added] = events(db, factors.AUDIT_FACTOR_ADDED)
    assert added.detail == {"kind": "passkey", "passkey_id": passkey.id}
    assert mailbox.messages[-1]["Subject"] == "A passkey was added to your account"
    page = account.http.get("/account")
    assert "The passkey \u201cWork laptop\u201d was added." in text(page)
    assert "Work laptop" in text(page) and "never used" in text(page)


def test_the_user_handle_is_the_opaque_subject(account, db, user):
    account.confirm_password()
    options = account.post("/passkeys/register/options").json
    assert options["user"]["id"] != "ada@example.com"
    from .passkey_authenticator import unb64url

    assert unb64url(options["user"]["id"]) == user.sub.encode()


def test_an_account_lists_its_passkeys_and_excludes_them(registered, account, db, user):
    account.confirm_password()
    options = account.post("/passkeys/register/options").json
    [excluded] = options["excludeCredentials"]
    assert excluded["id"] == passkeys_of(db, user)[0].credential_id
    second = SoftAuthenticator(ISSUER)
    assert account.register(second, name="Phone").status_code == 200
    names = [p.name for p in passkeys_of(db, user)]
    assert sorted(names) == ["Phone", "Work laptop"]


def test_registration_needs_the_password_again(account, authenticator):
    response = account.post("/passkeys/register/options")
    assert response.status_code == 403
    assert response.json["error"] == "reauthentication_required"
    response = account.post("/passkeys/register", {"credential": {}, "name": "x"})
    assert response.json["error"] == "reauthentication_required"


def test_a_wrong_password_is_refused_inline(account):
    response = account.confirm_password("not the password")
    assert response.status_code == 400
    assert alerts(response) == ["Your password is incorrect."]
    assert account.post("/passkeys/register/options").status_code == 403


def test_the_confirmation_expires(account, client):
    account.confirm_password()
    with client.session_transaction() as session:
        session_id, at = session["passkey_reauth"]
        session["passkey_reauth"] = [session_id, at - 301]
    assert account.post("/passkeys/register/options").status_code == 403


def test_the_create_step_without_its_script_says_so(account):
    account.confirm_password()
    response = submit(account.http, "/account/passkeys/new", step="create", name="x")
    assert response.status_code == 400
    assert "Passkeys need JavaScript" in text(response)


def test_signed_out_browsers_get_json_refusals(client):
    ceremonies = Ceremonies(client)
    response = ceremonies.post("/passkeys/register/options")
    assert response.status_code == 401
    assert response.json["error"] == "login_required"
    page = client.get("/account/passkeys/new")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")


@pytest.mark.parametrize(
    "path", ["/passkeys/register/options", "/passkeys/sign-in/options", "/passkeys/sign-in"]
)
def test_every_step_needs_the_csrf_token(client, path):
    response = client.post(path, json={})
    assert response.status_code == 400
    assert response.json["error"] == "csrf_failed"
    response = client.post(path, json={}, headers={"X-CSRFToken": "forged"})
    assert response.json["error"] == "csrf_failed"


@pytest.mark.parametrize(
    "change, error",
    [
        (lambda c: c.update(id="x", rawId="x"), "passkey_rejected"),
        (lambda c: c["response"].update(clientDataJSON="bm90IGpzb24"), "passkey_rejected"),
        (lambda c: c["response"].update(attestationObject="AAAA"), "passkey_rejected"),
        (lambda c: c.pop("response"), "passkey_rejected"),
        (lambda c: c.clear(), "passkey_rejected"),
    ],
)
def test_a_broken_registration_is_refused(account, authenticator, db, user, change, error):
    account.confirm_password()
    credential = authenticator.create(account.post("/passkeys/register/options").json)
    change(credential)
    response = account.post("/passkeys/register", {"credential": credential, "name": "x"})
    assert response.status_code == 400
    assert response.json["error"] == error
    assert passkeys_of(db, user) == []


def test_another_origin_is_refused(account, authenticator, db, user):
    account.confirm_password()
    response = account.register(authenticator, origin="https://evil.test")
    assert response.status_code == 400
    assert response.json["error"] == "passkey_rejected"
    assert passkeys_of(db, user) == []


@pytest.mark.parametrize("name", ["x" * 65, 12, None])
def test_a_bad_name_is_refused(account, authenticator, name):
    account.confirm_password()
    response = account.register(authenticator, name=name)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_name"


@pytest.mark.parametrize("body", ["not json", "[1, 2]", "null"])
def test_a_body_that_is_not_an_object_is_refused(account, body):
    account.confirm_password()
    account.post("/passkeys/register/options")
    response = account.http.post(
        "/passkeys/register",
        data=body,
        content_type="application/json",
        headers={"X-CSRFToken": account.token},
    )
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"


# -- challenges -----------------------------------------------------------------------------
@pytest.mark.postgres
def test_a_challenge_is_used_once(account, authenticator, db, user):
    account.confirm_password()
    credential = authenticator.create(account.post("/passkeys/register/options").json)
    first = account.post("/passkeys/register", {"credential": credential, "name": "a"})
    assert first.status_code == 200
    again = account.post("/passkeys/register", {"credential": credential, "name": "b"})
    assert again.status_code == 400
    assert again.json["error"] == "challenge_expired"
    assert len(passkeys_of(db, user)) == 1


def test_a_challenge_expires(account, authenticator, db):
    account.confirm_password()
    credential = authenticator.create(account.post("/passkeys/register/options").json)
    db.session.execute(update(PasskeyChallenge).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    response = account.post("/passkeys/register", {"credential": credential, "name": "a"})
    assert response.json["error"] == "challenge_expired"
    assert db.session.scalars(select(PasskeyChallenge)).all() == []


def test_a_challenge_belongs_to_its_browser(registered, account, new_browser):
    """Another browser (no handle in its session) cannot answer this one's challenge."""
    options = account.post("/passkeys/sign-in/options").json
    credential = registered.get(options, RP_ID)
    other = Ceremonies(new_browser())
    response = other.post("/passkeys/sign-in", {"credential": credential})
    assert response.status_code == 400
    assert response.json["error"] == "challenge_expired"


def test_a_challenge_serves_only_its_purpose(registered, account):
    """A sign-in challenge cannot finish a registration (nor the reverse)."""
    account.confirm_password()
    options = account.post("/passkeys/sign-in/options").json
    other = SoftAuthenticator(ISSUER)
    credential = other.create({**options, "rp": {"id": RP_ID}, "user": {"id": "eA"}})
    response = account.post("/passkeys/register", {"credential": credential, "name": "x"})
    assert response.json["error"] == "challenge_expired"


def test_the_handle_is_a_cookie_of_its_own(client):
    """Not the signed session: the sign-in page asks for options as it opens, and that
    answer must not overwrite the session cookie the password form's answer sets."""
    response = Ceremonies(client).post("/passkeys/sign-in/options")
    [cookie] = response.headers.getlist("Set-Cookie")
    assert cookie.startswith("idp_passkey_ceremony=")
    for part in ("HttpOnly", "SameSite=Strict", "Path=/passkeys/", "Max-Age=300"):
        assert part in cookie
    spent = Ceremonies(client).post("/passkeys/sign-in", {"credential": {}})
    assert spent.json["error"] == "passkey_rejected"
    [forgotten] = spent.headers.getlist("Set-Cookie")
    assert forgotten.startswith("idp_passkey_ceremony=;") and "Max-Age=0" in forgotten


# -- passwordless sign-in -------------------------------------------------------------------
@pytest.mark.postgres
def test_passwordless_sign_in(registered, new_browser, db, user):
    browser = Ceremonies(new_browser())
    options = browser.post("/passkeys/sign-in/options").json
    assert "allowCredentials" not in options or options["allowCredentials"] == []
    assert options["rpId"] == RP_ID and options["userVerification"] == "preferred"
    credential = registered.get(options, RP_ID)
    response = browser.post(
        "/passkeys/sign-in", {"credential": credential, "return_to": "/oauth/authorize?x=1"}
    )
    assert response.status_code == 200, response.json
    assert response.json == {"redirect": "/oauth/authorize?x=1"}
    assert "idp_session=" in response.headers.get("Set-Cookie", "")
    assert browser.http.get("/account").status_code == 200
    db.session.rollback()
    newest = db.session.scalars(select(CrossAppSession).order_by(CrossAppSession.id.desc()))
    session = newest.first()
    assert session.amr.split() == ["hwk", "user", "mfa"]
    assert session.acr == factors.ACR_2FA
    [passkey] = passkeys_of(db, user)
    assert passkey.sign_count == 1 and passkey.last_used_at is not None
    assert events(db, "passkey.used")[0].detail == {"passkey_id": passkey.id}
    login = events(db, "login.succeeded")[-1]
    assert login.detail == {"method": "passkey"}


def test_a_synced_passkey_counts_as_a_software_key(account, db, user, new_browser):
    synced = SoftAuthenticator(ISSUER, synced=True)
    account.confirm_password()
    assert account.register(synced).status_code == 200
    assert passkeys_of(db, user)[0].backup_eligible is True
    browser = Ceremonies(new_browser())
    assert browser.sign_in(synced).status_code == 200
    db.session.rollback()
    newest = db.session.scalars(select(CrossAppSession).order_by(CrossAppSession.id.desc()))
    assert newest.first().amr.split() == ["swk", "user", "mfa"]


def test_an_unsafe_return_to_goes_to_the_account(registered, new_browser):
    response = Ceremonies(new_browser()).sign_in(registered, return_to="https://evil.test/")
    assert response.json == {"redirect": "/account"}


def test_an_unknown_passkey_is_not_recognised(registered, new_browser):
    stranger = SoftAuthenticator(ISSUER, user_handle=b"someone")
    response = Ceremonies(new_browser()).sign_in(stranger)
    assert response.status_code == 401
    assert response.json["error"] == "passkey_not_recognised"
    assert "idp_session=" not in response.headers.get("Set-Cookie", "")


def test_a_user_handle_of_another_account_is_refused(registered, new_browser, db):
    make_user("bob@example.com")
    db.session.commit()
    bob = db.session.scalar(select(User).where(User.email == "bob@example.com"))
    registered.user_handle = bob.sub.encode()
    response = Ceremonies(new_browser()).sign_in(registered)
    assert response.json["error"] == "passkey_not_recognised"


def test_a_disabled_account_cannot_sign_in(registered, new_browser, db, user):
    db.session.execute(update(User).where(User.id == user.id).values(disabled=True))
    db.session.commit()
    response = Ceremonies(new_browser()).sign_in(registered)
    assert response.status_code == 401
    assert response.json["error"] == "passkey_not_recognised"


def test_a_wrong_signature_is_refused(registered, new_browser):
    browser = Ceremonies(new_browser())
    options = browser.post("/passkeys/sign-in/options").json
    credential = registered.get(options, RP_ID)
    credential["response"]["signature"] = registered.get(options, "other.test")["response"][
        "signature"
    ]
    response = browser.post("/passkeys/sign-in", {"credential": credential})
    assert response.status_code == 400
    assert response.json["error"] == "passkey_rejected"


def test_another_rp_id_is_refused(registered, new_browser):
    browser = Ceremonies(new_browser())
    options = browser.post("/passkeys/sign-in/options").json
    credential = registered.get(options, "evil.test")
    response = browser.post("/passkeys/sign-in", {"credential": credential})
    assert response.json["error"] == "passkey_rejected"


@pytest.mark.postgres
def test_a_cloned_passkey_is_refused_and_audited(registered, new_browser, db, user):
    clone = registered.clone()
    for _ in range(3):
        assert Ceremonies(new_browser()).sign_in(registered).status_code == 200
    response = Ceremonies(new_browser()).sign_in(clone)  # its counter is behind: 1 <= 3
    assert response.status_code == 401
    assert response.json["error"] == "passkey_counter_regressed"
    assert "idp_session=" not in response.headers.get("Set-Cookie", "")
    [regressed] = events(db, "passkey.counter_regressed")
    assert regressed.user_id == user.id
    assert regressed.detail["stored"] == 3 and regressed.detail["received"] == 1
    assert passkeys_of(db, user)[0].sign_count == 3


def test_a_repeated_counter_is_refused(registered, new_browser):
    assert Ceremonies(new_browser()).sign_in(registered, count=7).status_code == 200
    response = Ceremonies(new_browser()).sign_in(registered, count=7)
    assert response.json["error"] == "passkey_counter_regressed"


def test_an_authenticator_without_a_counter_is_accepted(registered, new_browser):
    """Counters of 0 on both sides: the authenticator keeps none (synced passkeys)."""
    for _ in range(2):
        assert Ceremonies(new_browser()).sign_in(registered, count=0).status_code == 200


def test_an_unverified_address_is_sent_to_verify(registered, new_browser, db, user):
    db.session.execute(update(User).where(User.id == user.id).values(email_verified=False))
    db.session.commit()
    response = Ceremonies(new_browser()).sign_in(registered)
    assert response.status_code == 200
    assert response.json["redirect"].startswith("/verify")
    assert "idp_session=" not in response.headers.get("Set-Cookie", "")


def test_sign_in_options_are_the_same_for_everyone(registered, account, new_browser):
    """Nothing in the options depends on an account: no enumeration."""
    ours = account.post("/passkeys/sign-in/options").json
    theirs = Ceremonies(new_browser()).post("/passkeys/sign-in/options").json
    assert set(ours) == set(theirs)
    assert ours["challenge"] != theirs["challenge"]
    assert ours.get("allowCredentials", []) == theirs.get("allowCredentials", []) == []


# -- removal --------------------------------------------------------------------------------
def test_removal_after_the_password(registered, account, db, user, mailbox, new_browser):
    passkey_id = passkeys_of(db, user)[0].id
    url = f"/account/passkeys/{passkey_id}/remove"
    page = account.http.get(url)
    assert page.status_code == 200 and "Work laptop" in text(page)
    wrong = submit(account.http, url, password="not it")
    assert wrong.status_code == 400
    assert alerts(wrong) == ["Your password is incorrect."]
    assert len(passkeys_of(db, user)) == 1
    done = submit(account.http, url, password=PASSWORD)
    assert done.status_code == 302 and done.headers["Location"] == "/account"
    assert passkeys_of(db, user) == []
    assert mailbox.messages[-1]["Subject"] == "A passkey was removed from your account"
    [removed] = events(db, factors.AUDIT_FACTOR_REMOVED)
    assert removed.detail == {"kind": "passkey", "passkey_id": passkey_id}
    response = Ceremonies(new_browser()).sign_in(registered)
    assert response.json["error"] == "passkey_not_recognised"


def test_another_accounts_passkey_cannot_be_removed(registered, db, user, new_browser):
    [passkey] = passkeys_of(db, user)
    make_user("bob@example.com")
    db.session.commit()
    bob = new_browser()
    assert Browser(bob).login("bob@example.com").status_code == 302
    page = bob.get(f"/account/passkeys/{passkey.id}/remove")
    assert page.status_code == 302
    assert len(passkeys_of(db, user)) == 1


@pytest.mark.parametrize("passkey_id", ["abc", "9" * 40, "-1"])
def test_a_malformed_id_is_not_found(account, passkey_id):
    assert account.http.get(f"/account/passkeys/{passkey_id}/remove").status_code == 404


def test_deleting_the_account_deletes_its_passkeys(registered, account, db, user):
    response = submit(account.http, "/account/delete", password=PASSWORD)
    assert response.status_code == 302
    assert passkeys_of(db, user) == []


# -- the second step ------------------------------------------------------------------------
def test_no_second_step_without_a_password_first(client):
    ceremonies = Ceremonies(client)
    response = ceremonies.post("/passkeys/second-step/options")
    assert response.status_code == 401
    assert response.json["error"] == "no_pending_sign_in"
    assert client.get("/login/passkey").status_code == 302


def test_a_passkey_makes_the_password_ask_for_a_second_step(registered, new_browser, db):
    """Registered as a second factor (idp.users.factors): the password alone no longer
    signs in; the passkey completes it, and the session holds both."""
    http = new_browser()
    response = Browser(http).login()
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/second-factor")
    page = http.get("/login/second-factor")
    assert 'href="/login/passkey' in page.data.decode()
    assert http.get("/login/passkey").status_code == 200
    ceremonies = Ceremonies(http)
    options = ceremonies.post("/passkeys/second-step/options").json
    assert [c["id"] for c in options["allowCredentials"]] == [b64url(registered.credential_id)]
    credential = registered.get(options, RP_ID)
    done = ceremonies.post("/passkeys/second-step", {"credential": credential})
    assert done.status_code == 200, done.json
    assert done.json == {"redirect": "/account"}
    assert "idp_session=" in done.headers.get("Set-Cookie", "")
    assert http.get("/account").status_code == 200
    assert newest_session(db).amr.split() == ["pwd", "hwk", "user", "mfa"]
    assert newest_session(db).acr == factors.ACR_2FA
    [completed] = events(db, factors.AUDIT_SECOND_STEP)  # recorded once, by factors
    assert "hwk" in str(completed.detail["method"])


def test_the_second_step_takes_only_the_accounts_own_passkeys(registered, new_browser, db):
    make_user("bob@example.com")
    db.session.commit()
    http = new_browser()
    assert Browser(http).login("bob@example.com").status_code == 302
    ceremonies = Ceremonies(http)
    options = ceremonies.post("/passkeys/second-step/options")
    # Bob has no passkey, so no second step: the password signed him in.
    assert options.status_code == 401 and options.json["error"] == "no_pending_sign_in"


def test_a_second_step_answer_is_used_once(registered, new_browser, db):
    http = new_browser()
    Browser(http).login()
    ceremonies = Ceremonies(http)
    options = ceremonies.post("/passkeys/second-step/options").json
    credential = registered.get(options, RP_ID)
    assert ceremonies.post("/passkeys/second-step", {"credential": credential}).status_code == 200
    again = ceremonies.post("/passkeys/second-step", {"credential": credential})
    assert again.status_code == 401 and again.json["error"] == "no_pending_sign_in"


def test_a_passkey_without_user_verification_still_needs_the_second_step(
    account, db, user, new_browser
):
    """Without UV a passkey is one factor (hwk): an account with a second factor (this
    passkey is one) is sent to the second step instead of being signed in."""
    plain = SoftAuthenticator(ISSUER, user_verified=False)
    account.confirm_password()
    assert account.register(plain).status_code == 200
    browser = Ceremonies(new_browser())
    response = browser.sign_in(plain, return_to="/account")
    assert response.status_code == 200
    assert response.json["redirect"].startswith("/login/second-factor")
    assert "idp_session=" not in response.headers.get("Set-Cookie", "")


def newest_session(db) -> CrossAppSession:
    db.session.rollback()
    query = select(CrossAppSession).order_by(CrossAppSession.id.desc())
    return db.session.scalars(query).first()


def test_support_reset_removes_the_passkeys(registered, runner, db, user):
    """``flask users mfa reset`` (idp.users.factors' reset of every kind) takes them too."""
    result = runner.invoke(args=["users", "mfa", "reset", "--email", user.email])
    assert result.exit_code == 0, result.output
    assert passkeys_of(db, user) == []
    [reset] = events(db, factors.AUDIT_RESET)
    assert "passkey" in reset.detail["removed"]
